package stack_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/infra/ec2"
	"github.com/scaleout/scaleout/internal/executions/execution"
)

// TestWorkersDecryptOnlySealedParameters: a worker role, of a Fargate
// task or an EC2 instance, may decrypt with the secrets key only under an
// execution parameter's encryption context (the one internal/executions/execution seals
// with), so that its credentials open nothing else the key sealed; it has
// no other KMS action.
func TestWorkersDecryptOnlySealedParameters(t *testing.T) {
	want := obj{
		"StringEquals":              obj{"kms:EncryptionContext:purpose": execution.SealPurpose},
		"ForAllValues:StringEquals": obj{"kms:EncryptionContextKeys": []any{"execution", "parameter", "purpose"}},
		"Null":                      obj{"kms:EncryptionContext:execution": "false", "kms:EncryptionContext:parameter": "false"},
	}
	require.Equal(t, []string{"execution", "parameter", "purpose"}, execution.SealContextKeys)
	roles := map[string][]obj{}
	for _, pool := range pools() {
		roles[family(pool)] = statements(t)[family(pool)]
	}
	roles[optionsFamily("etl")+" instance"] = statementsIn(t, synth.options.json)[optionsFamily("etl")+" instance"]
	for role, sts := range roles {
		require.NotEmpty(t, sts, role)
		var kms []obj
		for _, st := range sts {
			for _, a := range list(st["Action"]) {
				if strings.HasPrefix(a.(string), "kms:") {
					kms = append(kms, st)
				}
			}
		}
		require.Len(t, kms, 1, "%s: one KMS statement", role)
		require.Equal(t, "OpenSealedParameters", kms[0]["Sid"], role)
		require.Equal(t, "kms:Decrypt", kms[0]["Action"], role)
		require.Equal(t, want, kms[0]["Condition"], role)
	}
}

// TestWorkersRunTasksAsTaskUser: Fargate tasks and EC2 instances give the
// worker the same task user, which the image and the user data create;
// the image's worker is another user, with the capabilities to switch.
func TestWorkersRunTasksAsTaskUser(t *testing.T) {
	for _, pool := range pools() {
		task := resourceID(t, "AWS::ECS::TaskDefinition", obj{"Family": family(pool)})
		container := resourcesOf("AWS::ECS::TaskDefinition")[task]["Properties"].(obj)["ContainerDefinitions"].([]any)[0].(obj)
		require.Contains(t, container["Environment"], obj{"Name": "SCALEOUT_TASK_USER", "Value": ec2.TaskUser}, pool)
	}
	lt := resourceIDIn(t, synth.options.template, "AWS::EC2::LaunchTemplate", obj{"LaunchTemplateName": optionsFamily("etl")})
	ud := userData(t, lt)
	require.Contains(t, heredoc(t, ud, ec2.EnvironmentFile), "SCALEOUT_TASK_USER="+ec2.TaskUser+"\n")
	add := strings.Index(ud, "useradd --system --user-group --no-create-home --home-dir /tmp --shell /sbin/nologin "+ec2.TaskUser)
	require.GreaterOrEqual(t, add, 0, "the user data creates the task user")
	require.Less(t, add, strings.Index(ud, "systemctl enable --now"), "before the worker starts")
	require.Contains(t, ud, "dnf install -y iptables-nft", "the unit's firewall rules need iptables")

	b, err := os.ReadFile("../../Dockerfile")
	require.NoError(t, err)
	dockerfile := string(b)
	require.Regexp(t, `adduser -S -D -H -u 10002 -G `+ec2.TaskUser+` -h /tmp -s /sbin/nologin `+ec2.TaskUser, dockerfile)
	require.Regexp(t, `(?m)^USER 10001:10001$`, dockerfile, "the worker is not the task user")
	require.Regexp(t, regexp.QuoteMeta("setcap cap_chown,cap_dac_override,cap_fowner,cap_kill,cap_setgid,cap_setuid=ep /usr/local/bin/scaleout-worker"), dockerfile)
	require.Regexp(t, `(?m)^ENV SCALEOUT_TASK_USER=`+ec2.TaskUser+`$`, dockerfile)
}

// TestEC2InstanceMetadataIsIMDSv2OneHop: the launch template requires
// IMDSv2 tokens and limits the answers to one hop.
func TestEC2InstanceMetadataIsIMDSv2OneHop(t *testing.T) {
	check(t, func() {
		synth.options.template.HasResourceProperties(jsii.String("AWS::EC2::LaunchTemplate"), obj{
			"LaunchTemplateName": optionsFamily("etl"),
			"LaunchTemplateData": like(obj{
				"MetadataOptions": obj{"HttpEndpoint": "enabled", "HttpTokens": "required", "HttpPutResponseHopLimit": 1},
			}),
		})
	})
}
