package stack_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/infra/ec2"
	"github.com/scaleout/scaleout/infra/stack"
)

const (
	sdkService = "github.com/aws/aws-sdk-go-v2/service/"
	module     = "github.com/scaleout/scaleout/"
)

// linkedServices are the AWS SDK service packages the binary of the
// command pkg links, each with the Scaleout packages that import it.
func linkedServices(t *testing.T, pkg string) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", pkg)
	cmd.Dir = root
	out, err := cmd.Output()
	require.NoError(t, err, "go list %s", pkg)
	services := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		for _, imp := range fields[1:] {
			svc, ok := strings.CutPrefix(imp, sdkService)
			if !ok || strings.Contains(svc, "/") {
				continue
			}
			if _, seen := services[svc]; !seen {
				services[svc] = nil
			}
			if from, ok := strings.CutPrefix(fields[0], module); ok {
				services[svc] = append(services[svc], from)
			}
		}
	}
	return services
}

// TestWorkerSDKClientsHaveRoutes: every AWS SDK client the worker binary
// links has a route (WorkerRoutes) or is one the worker never calls
// (WorkerSDKNotCalled), imported only where that list says. A new client
// without a route fails here, before a worker without a NAT gateway hangs
// on it.
func TestWorkerSDKClientsHaveRoutes(t *testing.T) {
	t.Parallel()
	linked := linkedServices(t, "./cmd/scaleout-worker")
	require.Contains(t, linked, "dynamodb", "go list found no SDK client: is the pattern right?")
	routed := map[string]bool{}
	for _, r := range stack.WorkerRoutes {
		if r.SDK != "" {
			routed[r.SDK] = true
			require.Contains(t, linked, r.SDK, "route %s names an SDK client the worker does not link", r.ID)
		}
	}
	for svc, importers := range linked {
		if routed[svc] {
			continue
		}
		nc, ok := stack.WorkerSDKNotCalled[svc]
		require.True(t, ok, "the worker links %s%s (imported by %v) with no route: add a VPC endpoint to stack.WorkerRoutes, "+
			"or, if the worker never calls it, say why in stack.WorkerSDKNotCalled", sdkService, svc, importers)
		for _, from := range importers {
			require.Contains(t, nc.Importers, from, "%s now imports %s, which WorkerSDKNotCalled says the worker never calls: "+
				"does it call it now? Then give it a route", from, svc)
		}
	}
	for svc := range stack.WorkerSDKNotCalled {
		require.Contains(t, linked, svc, "WorkerSDKNotCalled lists %s, which the worker no longer links", svc)
	}
}

// endpointServices are the VPC endpoints of tpl: service name (the part
// after com.amazonaws.<region>.) to type.
func endpointServices(tpl obj) map[string]string {
	out := map[string]string{}
	for _, r := range resourcesIn(tpl, "AWS::EC2::VPCEndpoint") {
		p := r["Properties"].(obj)
		name := flatten(p["ServiceName"])
		name = strings.TrimPrefix(strings.TrimPrefix(name, "com.amazonaws.us-east-1."), "com.amazonaws.map[Ref:AWS::Region].")
		out[name] = p["VpcEndpointType"].(string)
	}
	return out
}

// TestEveryWorkerAPIHasARouteInEveryNetwork: without a NAT gateway (a
// Fargate and an EC2 pool), each route the platforms need is a VPC
// endpoint of its type; with one, the workers' subnets send everything
// else to a NAT gateway. The Lambda functions run outside the VPC.
func TestEveryWorkerAPIHasARouteInEveryNetwork(t *testing.T) {
	t.Run("no NAT gateway", func(t *testing.T) {
		got := endpointServices(synth.isolated.json)
		want := map[string]string{}
		for _, r := range stack.WorkerRoutes {
			typ := "Interface"
			if r.Gateway {
				typ = "Gateway"
			}
			want[r.Endpoint] = typ
		}
		require.Equal(t, want, got)
		for _, svc := range []string{"kms", "sqs", "autoscaling", "ecs"} {
			require.Equal(t, "Interface", got[svc], svc)
		}
	})
	for name, tpl := range map[string]obj{"NAT gateway": synth.json, "NAT gateway, EC2 pool": synth.options.json} {
		t.Run(name, func(t *testing.T) {
			got := endpointServices(tpl)
			require.Equal(t, map[string]string{"dynamodb": "Gateway", "s3": "Gateway"}, got)
			private := 0
			for _, r := range resourcesIn(tpl, "AWS::EC2::Route") {
				p := r["Properties"].(obj)
				if _, ok := p["NatGatewayId"]; ok {
					require.Equal(t, "0.0.0.0/0", p["DestinationCidrBlock"])
					private++
				}
			}
			require.Equal(t, 2, private, "each workers' subnet routes to the NAT gateway")
		})
	}
	for name, tpl := range map[string]obj{"main": synth.json, "isolated": synth.isolated.json, "options": synth.options.json} {
		for id, fn := range resourcesIn(tpl, "AWS::Lambda::Function") {
			require.Nil(t, fn["Properties"].(obj)["VpcConfig"], "%s: %s runs in the VPC: it then needs routes "+
				"(WorkerRoutes covers the workers only)", name, id)
		}
	}
}

// TestScaleInProtectionGrants: a Fargate task role may set the scale-in
// protection of the cluster's tasks, an EC2 instance role that of its own
// group's instances, and an EC2 worker knows its group.
func TestScaleInProtectionGrants(t *testing.T) {
	for _, pool := range pools() {
		var got []string
		for _, st := range statements(t)[family(pool)] {
			if st["Sid"] == "TaskScaleInProtection" {
				got = append(got, st["Action"].(string)+" on "+flatten(st["Resource"]))
			}
		}
		require.Equal(t, []string{"ecs:UpdateTaskProtection on " + clusterTasks(synth.settings)}, got, pool)
	}
	sts := statementsIn(t, synth.options.json)
	group := optionsFamily("etl")
	var got []string
	for _, st := range sts[group+" instance"] {
		if st["Sid"] == "InstanceScaleInProtection" {
			got = append(got, st["Action"].(string)+" on "+flatten(st["Resource"]))
		}
	}
	require.Equal(t, []string{"autoscaling:SetInstanceProtection on " + instanceGroup(group)}, got)
	for _, st := range sts[optionsFamily("default")] {
		require.NotContains(t, list(st["Action"]), "autoscaling:SetInstanceProtection", "a Fargate task needs no Auto Scaling call")
	}
	lt := resourceIDIn(t, synth.options.template, "AWS::EC2::LaunchTemplate", obj{"LaunchTemplateName": group})
	require.Contains(t, heredoc(t, userData(t, lt), ec2.EnvironmentFile), "SCALEOUT_AUTOSCALING_GROUP="+group+"\n")
	check(t, func() {
		synth.options.template.HasResourceProperties(jsii.String("AWS::AutoScaling::AutoScalingGroup"), obj{
			"AutoScalingGroupName": group,
		})
	})
}

// instanceGroup is the ARN of the Auto Scaling group named name.
func instanceGroup(name string) string {
	return "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:*:autoScalingGroupName/" + name
}
