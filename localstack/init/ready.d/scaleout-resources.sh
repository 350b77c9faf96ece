#!/bin/sh
# LocalStack "ready" hook: creates Scaleout's tables and queues once LocalStack
# serves requests (mounted by localstack/docker-compose.yml at
# /etc/localstack/init/ready.d; see localstack/README.md).
#
# It creates what `scaleout dev` creates through the SDK (internal/aws/bootstrap), for
# the default prefix "scaleout" and the pool "default" only, from the AWS CLI
# input files in resources/. Those are generated from internal/aws/resources: do not
# edit them, run `go generate ./localstack/localstackinit/`, and name any new
# file below (the package's tests check both). With another prefix or more
# pools, `scaleout dev` creates what is missing itself when it starts.
#
# Idempotent: tables, TTL settings and queues that exist are left as they are.
set -eu

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
res=${SCALEOUT_RESOURCES_DIR:-$here/resources}
# Same region and account as the clients of `scaleout dev` (AWS_REGION,
# access key "test" = LocalStack's account 000000000000).
export AWS_DEFAULT_REGION="${SCALEOUT_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
# Stands for the dead-letter queue's ARN in a generated queue file
# (localstackinit.DLQARNPlaceholder).
placeholder='@DLQ_ARN@'

log() { echo "scaleout-resources: $*" >&2; }
fail() {
	log "error: $*"
	exit 1
}

tmp=''
trap 'rm -f "$tmp"' EXIT

# resource_name FILE PREFIX prints the resource name in a generated file name:
# table-scaleout-executions.json -> scaleout-executions.
resource_name() {
	n=${1#"$2"}
	echo "${n%.json}"
}

# ensure_table FILE creates the table of a create-table input file unless it
# exists, and waits until it is active.
ensure_table() {
	[ -f "$res/$1" ] || fail "missing $res/$1"
	table=$(resource_name "$1" table-)
	if awslocal dynamodb describe-table --table-name "$table" >/dev/null 2>&1; then
		log "table $table exists"
	elif awslocal dynamodb create-table --cli-input-json "file://$res/$1" >/dev/null; then
		log "created table $table"
	else
		# Made meanwhile by someone else (`scaleout dev`)? Then go on.
		awslocal dynamodb describe-table --table-name "$table" >/dev/null ||
			fail "could not create table $table"
	fi
	awslocal dynamodb wait table-exists --table-name "$table"
}

# ensure_ttl FILE enables TTL as an update-time-to-live input file says,
# unless it is on already (a second update is an error in DynamoDB).
ensure_ttl() {
	[ -f "$res/$1" ] || fail "missing $res/$1"
	table=$(resource_name "$1" ttl-)
	status=$(awslocal dynamodb describe-time-to-live --table-name "$table" \
		--query TimeToLiveDescription.TimeToLiveStatus --output text)
	case $status in
	ENABLED | ENABLING) log "TTL of table $table is on" ;;
	*)
		awslocal dynamodb update-time-to-live --cli-input-json "file://$res/$1" >/dev/null
		log "turned on TTL of table $table"
		;;
	esac
}

# ensure_queue NAME INPUT creates queue NAME from the create-queue input file
# INPUT and prints its URL. As in internal/aws/bootstrap, a queue made earlier with
# other attributes is kept as it is.
ensure_queue() {
	if url=$(awslocal sqs create-queue --cli-input-json "file://$2" \
		--query QueueUrl --output text); then
		log "queue $1 is at $url"
	else
		url=$(awslocal sqs get-queue-url --queue-name "$1" --query QueueUrl --output text) ||
			fail "could not create queue $1"
		log "queue $1 exists with other attributes, kept as it is: $url"
	fi
	echo "$url"
}

# ensure_queue_with_dlq DLQ_FILE FILE creates the dead-letter queue, reads its
# ARN, then creates the queue with a RedrivePolicy naming that ARN.
ensure_queue_with_dlq() {
	[ -f "$res/$1" ] || fail "missing $res/$1"
	[ -f "$res/$2" ] || fail "missing $res/$2"
	dlq=$(resource_name "$1" queue-)
	queue=$(resource_name "$2" queue-)
	dlq_url=$(ensure_queue "$dlq" "$res/$1")
	dlq_arn=$(awslocal sqs get-queue-attributes --queue-url "$dlq_url" \
		--attribute-names QueueArn --query Attributes.QueueArn --output text)
	case $dlq_arn in
	arn:*) ;;
	*) fail "queue $dlq has no ARN (got \"$dlq_arn\")" ;;
	esac
	grep -q "$placeholder" "$res/$2" || fail "$2 has no $placeholder to replace with the ARN of $dlq"
	tmp=$(mktemp)
	sed "s|$placeholder|$dlq_arn|g" "$res/$2" >"$tmp"
	ensure_queue "$queue" "$tmp" >/dev/null
	rm -f "$tmp"
}

[ -d "$res" ] || fail "no resource files at $res"

ensure_table table-scaleout-executions.json
ensure_ttl ttl-scaleout-executions.json
ensure_table table-scaleout-catalog.json
ensure_ttl ttl-scaleout-catalog.json
ensure_queue_with_dlq queue-scaleout-pool-default-dlq.json queue-scaleout-pool-default.json

log "tables and queues ready (region $AWS_DEFAULT_REGION)"
