package stack_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"

	"github.com/scaleout/scaleout/infra/ec2"
	"github.com/scaleout/scaleout/infra/stack"
)

func TestParseImage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		want    stack.Image
		wantErr string
	}{
		{in: "stock", want: stack.Image{Kind: stack.ImageStock}},
		{in: " Stock ", want: stack.Image{Kind: stack.ImageStock}},
		{in: "dir:examples/images/dbt", want: stack.Image{Kind: stack.ImageDir, Dir: "examples/images/dbt"}},
		{in: "uri:public.ecr.aws/org/img:1.0", want: stack.Image{Kind: stack.ImageURI, URI: "public.ecr.aws/org/img:1.0"}},
		{in: "uri:registry.example.com:5000/team/img", want: stack.Image{Kind: stack.ImageURI, URI: "registry.example.com:5000/team/img"}},
		{in: "stock:x", wantErr: `"stock:x": stock takes nothing after it`},
		{in: "dir:", wantErr: `"dir:" names no folder`},
		{in: "uri:", wantErr: `"uri:" names no image`},
		{in: "", wantErr: `no image source: give stock, dir:<folder> or uri:<image>`},
		{in: "stok", wantErr: `unknown image source "stok": give stock, dir:<folder> or uri:<image>; did you mean "stock"?`},
		{in: "dockerfile:examples/images/dbt", wantErr: `unknown image source kind in "dockerfile:examples/images/dbt": ` +
			`give stock, dir:<folder> (a Dockerfile's folder) or uri:<image> (a pushed image); did you mean "dir"?`},
		{in: "ecr:123456789012.dkr.ecr.us-east-1.amazonaws.com/x", wantErr: `did you mean "uri"?`},
		{in: "public.ecr.aws/org/img:1", wantErr: `did you mean "uri:public.ecr.aws/org/img:1"?`},
		{in: root + "/examples/images/dbt", wantErr: `did you mean "dir:` + root + `/examples/images/dbt"?`},
	} {
		got, err := stack.ParseImage(tc.in)
		if tc.wantErr != "" {
			require.ErrorContains(t, err, tc.wantErr, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
}

// TestWorkerImageSettings: workerImage per pool, read from -c strings and
// from cdk.json's JSON, with every problem reported: an unknown kind, a
// missing folder, a folder without a Dockerfile or with one that is not
// a worker image, a bad URI, credentials (never echoed), and a public
// registry where the workers reach AWS only.
func TestWorkerImageSettings(t *testing.T) {
	t.Parallel()
	dbt := filepath.Join(root, "examples", "images", "dbt")
	ecr := "123456789012.dkr.ecr.eu-west-1.amazonaws.com/etl-worker:1.4"
	t.Run("read", func(t *testing.T) {
		t.Parallel()
		for name, v := range map[string]any{
			"string": "dbt=dir:" + dbt + ",sql=uri:" + ecr,
			"JSON":   map[string]any{"dbt": "dir:" + dbt, "sql": "uri:" + ecr},
		} {
			s, err := stack.SettingsFrom(context(map[string]any{
				"pools": "default,dbt,sql", "iamRoles": "arn:aws:iam::1:role/a=admin",
				"workerPlatform": "sql=ec2", "buildDir": buildWithWorker(t), "workerImage": v,
			}))
			require.NoError(t, err, name)
			require.True(t, s.Worker("default").Image.Stock(), name)
			require.Equal(t, stack.Image{Kind: stack.ImageDir, Dir: dbt}, s.Worker("dbt").Image, name)
			require.Equal(t, stack.Image{Kind: stack.ImageURI, URI: ecr}, s.Worker("sql").Image, name)
			require.True(t, s.Worker("sql").EC2(), name)
		}
	})
	t.Run("one for every pool", func(t *testing.T) {
		t.Parallel()
		s, err := stack.SettingsFrom(context(map[string]any{
			"pools": "a,b", "iamRoles": "arn:aws:iam::1:role/a=admin", "workerImage": "uri:public.ecr.aws/org/img@sha256:" + strings.Repeat("ab", 32),
		}))
		require.NoError(t, err)
		require.Equal(t, s.Worker("a").Image, s.Worker("b").Image)
		require.Equal(t, stack.ImageURI, s.Worker("b").Image.Kind)
	})
	t.Run("problems", func(t *testing.T) {
		t.Parallel()
		noDockerfile := t.TempDir()
		notWorker := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(notWorker, "Dockerfile"), []byte("FROM python:3.12-slim\nRUN pip install dbt-core\n"), 0o644))
		_, err := stack.SettingsFrom(context(map[string]any{
			"pools":    "a,b,c,d,e,f,g,h,i",
			"iamRoles": "arn:aws:iam::1:role/a=admin",
			"workerImage": map[string]any{
				"a": "docker:x", "b": "dir:" + filepath.Join(root, "nowhere"), "c": "dir:" + noDockerfile,
				"d": "uri:https://ghcr.io/org/img:1", "e": "uri:Org/Image", "f": "uri:bob:hunter2@registry.example.com/img:1",
				"g": "uri:localhost:5000/img", "h": float64(3), "i": "dir:" + notWorker,
			},
		}))
		require.Error(t, err)
		for _, want := range []string{
			`context "workerImage": pool "a": unknown image source kind in "docker:x"`,
			`did you mean "dir"?`,
			`pool "b": workerImage=dir:` + filepath.Join(root, "nowhere") + `: no folder`,
			`pool "c": workerImage=dir:` + noDockerfile + `: the folder has no Dockerfile`,
			`pool "d": workerImage: "https://ghcr.io/org/img:1": give the image without a scheme`,
			`pool "e": workerImage: "Org/Image" is not an image reference`,
			`pool "f": workerImage: an image URI holds no credentials`,
			`pool "g": workerImage: "localhost:5000/img": the workers cannot pull from this computer's registry`,
			`context "workerImage": pool "h": give stock, dir:<folder> or uri:<image> as a string, got float64`,
			`pool "i": workerImage=dir:` + notWorker + `: ` + filepath.Join(notWorker, "Dockerfile") + ` is not a worker image: ` +
				`the final stage copies no worker binary`,
			`no USER: the worker would run as root`,
			`no ENV SCALEOUT_TASK_USER`,
		} {
			require.ErrorContains(t, err, want)
		}
		require.NotContains(t, err.Error(), "hunter2", "a password in an image URI is never echoed")
	})
	t.Run("isolated VPC", func(t *testing.T) {
		t.Parallel()
		_, err := stack.SettingsFrom(context(map[string]any{
			"pools": "a,b", "iamRoles": "arn:aws:iam::1:role/a=admin", "natGateways": "0",
			"workerImage": "a=uri:public.ecr.aws/org/img:1,b=uri:" + ecr,
		}))
		require.ErrorContains(t, err, `pool "a": workerImage=uri:public.ecr.aws/org/img:1: with natGateways=0 the workers reach only AWS through VPC endpoints, not this registry`)
		require.NotContains(t, err.Error(), `pool "b"`, "an ECR image is reached through the ECR endpoints")
	})
}

// The images stack: one pool per image source and platform (synthesized
// once, on first use, in an app of its own), and an isolated one whose
// only pool runs an ECR image on EC2.
var images struct {
	once     sync.Once
	err      error
	stack    synthesized
	isolated synthesized
	// assets is the stack's asset manifest (cdk.out/<stack>.assets.json).
	assets map[string]any
	// out is the cloud assembly's folder.
	out string
}

const (
	imagesECR       = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/etl-worker:1.4"
	imagesPublic    = "public.ecr.aws/example/etl-worker:2.0"
	imagesECRDigest = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sql-worker@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func imagesStack(t *testing.T) (synthesized, synthesized, map[string]any) {
	t.Helper()
	images.once.Do(func() {
		// Not t.TempDir: the first test's folder goes when it ends.
		images.out, images.err = os.MkdirTemp("", "scaleout-images-test-")
		if images.err == nil {
			images.err = synthesizeImages(images.out)
		}
	})
	require.NoError(t, images.err)
	return images.stack, images.isolated, images.assets
}

func synthesizeImages(out string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	flags, err := featureFlags()
	if err != nil {
		return err
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &flags, Outdir: jsii.String(out)})
	set := synth.settings
	set.Prefix = "scaleout-images"
	set.Pools = []string{"default", "dbt", "ecr", "public", "sqltools", "ec2ecr", "ec2stock"}
	dir := func(name string) stack.Image {
		return stack.Image{Kind: stack.ImageDir, Dir: filepath.Join(root, "examples", "images", name)}
	}
	ec2Pool := func(img stack.Image) stack.Worker {
		w := stack.DefaultWorker
		w.Platform, w.Image = stack.PlatformEC2, img
		return w
	}
	fargate := func(img stack.Image) stack.Worker {
		w := stack.DefaultWorker
		w.Image = img
		return w
	}
	set.Workers = map[string]stack.Worker{
		"default":  stack.DefaultWorker,
		"dbt":      fargate(dir("dbt")),
		"ecr":      fargate(stack.Image{Kind: stack.ImageURI, URI: imagesECR}),
		"public":   fargate(stack.Image{Kind: stack.ImageURI, URI: imagesPublic}),
		"sqltools": ec2Pool(dir("sqltools")),
		"ec2ecr":   ec2Pool(stack.Image{Kind: stack.ImageURI, URI: imagesECRDigest}),
		"ec2stock": ec2Pool(stack.Image{}),
	}
	env := &awscdk.Environment{Account: jsii.String("000000000000"), Region: jsii.String("us-east-1")}
	s, err := stack.New(app, "ScaleoutImages", stack.Props{StackProps: awscdk.StackProps{Env: env}, Settings: set})
	if err != nil {
		return err
	}
	iso := synth.settings
	iso.Prefix = "scaleout-images-isolated"
	iso.Pools = []string{"sql"}
	iso.Workers = map[string]stack.Worker{"sql": ec2Pool(stack.Image{Kind: stack.ImageURI, URI: imagesECR})}
	iso.NATGateways = new(int)
	isolated, err := stack.New(app, "ScaleoutImagesIsolated", stack.Props{StackProps: awscdk.StackProps{Env: env}, Settings: iso})
	if err != nil {
		return err
	}
	for _, st := range []struct {
		to  *synthesized
		s   *stack.Stack
		set stack.Settings
	}{{&images.stack, s, set}, {&images.isolated, isolated, iso}} {
		st.to.template = assertions.Template_FromStack(st.s.Stack, nil)
		st.to.json = *st.to.template.ToJSON()
		st.to.annotations = assertions.Annotations_FromStack(st.s.Stack)
		st.to.set = st.s.Resources
		st.to.settings = st.set
	}
	app.Synth(nil)
	b, err := os.ReadFile(filepath.Join(out, "ScaleoutImages.assets.json"))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, &images.assets)
}

// containerImage is the image of pool's Fargate task, as text.
func containerImage(t *testing.T, s synthesized, pool string) string {
	t.Helper()
	id := resourceIDIn(t, s.template, "AWS::ECS::TaskDefinition", obj{"Family": s.settings.Prefix + "-worker-" + pool})
	c := resourcesIn(s.json, "AWS::ECS::TaskDefinition")[id]["Properties"].(obj)["ContainerDefinitions"].([]any)[0].(obj)
	return flattenAll(c["Image"])
}

// flattenAll is flatten for Fn::Sub and Ref too.
func flattenAll(v any) string {
	if o, ok := v.(obj); ok {
		if sub, ok := o["Fn::Sub"].(string); ok {
			return sub
		}
		if ref, ok := o["Ref"].(string); ok {
			return "${" + ref + "}"
		}
		if j, ok := o["Fn::Join"].([]any); ok {
			var b strings.Builder
			for _, p := range j[1].([]any) {
				b.WriteString(flattenAll(p))
			}
			return b.String()
		}
	}
	return flatten(v)
}

// dockerAssets are the manifest's image assets by hash.
func dockerAssets(assets map[string]any) map[string]obj {
	out := map[string]obj{}
	for hash, a := range assets["dockerImages"].(obj) {
		out[hash] = a.(obj)["source"].(obj)
	}
	return out
}

// TestFargatePoolImages: each Fargate pool runs its own image source: the
// stock image (built from the repository root), a folder's Dockerfile
// (built with the worker's sources as the "scaleout" context), an ECR
// image the task's execution role may pull, a public image.
func TestFargatePoolImages(t *testing.T) {
	s, _, assets := imagesStack(t)
	byHash := dockerAssets(assets)
	asset := regexp.MustCompile(`^000000000000\.dkr\.ecr\.us-east-1\.\$\{AWS::URLSuffix\}/cdk-[a-z0-9]+-container-assets-000000000000-us-east-1:([0-9a-f]{64})$`)

	stock := asset.FindStringSubmatch(containerImage(t, s, "default"))
	require.NotNil(t, stock, containerImage(t, s, "default"))
	require.NotContains(t, byHash[stock[1]], "dockerBuildContexts", "the stock image is built from the repository root alone")

	dbt := asset.FindStringSubmatch(containerImage(t, s, "dbt"))
	require.NotNil(t, dbt, containerImage(t, s, "dbt"))
	require.NotEqual(t, stock[1], dbt[1])
	src := byHash[dbt[1]]
	sources, err := filepath.Abs(root)
	require.NoError(t, err)
	require.Equal(t, obj{stack.WorkerSourcesContext: sources}, src["dockerBuildContexts"])
	require.Equal(t, "linux/arm64", src["platform"])
	require.Equal(t, obj{"VERSION": s.settings.Version}, src["dockerBuildArgs"])
	// The staged folder is the example's: its Dockerfile and pins.
	staged := filepath.Join(images.out, src["directory"].(string))
	for _, f := range []string{"Dockerfile", "requirements.txt"} {
		want, err := os.ReadFile(filepath.Join(root, "examples", "images", "dbt", f))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(staged, f))
		require.NoError(t, err, "the asset stages the folder")
		require.Equal(t, string(want), string(got))
	}

	require.Regexp(t, `^123456789012\.dkr\.ecr\.eu-west-1\.\$\{AWS::URLSuffix\}/etl-worker:1\.4$`, containerImage(t, s, "ecr"))
	require.Equal(t, imagesPublic, containerImage(t, s, "public"))

	// The ECR image's pull is granted on its repository to the execution
	// role of its pool.
	var pulls []string
	for _, p := range resourcesIn(s.json, "AWS::IAM::Policy") {
		for _, st := range p["Properties"].(obj)["PolicyDocument"].(obj)["Statement"].([]any) {
			if st := st.(obj); flattenAll(st["Resource"]) == "arn:aws:ecr:eu-west-1:123456789012:repository/etl-worker" {
				pulls = append(pulls, fmt.Sprint(p["Properties"].(obj)["Roles"], st["Action"]))
			}
		}
	}
	require.Len(t, pulls, 1, "one role pulls the ECR image")
	require.Regexp(t, `^\[map\[Ref:WorkerecrTaskExecutionRole[0-9A-F]+\]\] \[.*ecr:BatchGetImage.*\]$`, pulls[0])
}

// instanceUserData is the user data of pool's launch template.
func instanceUserData(t *testing.T, s synthesized, pool string) string {
	t.Helper()
	lt := resourceIDIn(t, s.template, "AWS::EC2::LaunchTemplate", obj{"LaunchTemplateName": s.settings.Prefix + "-worker-" + pool})
	data := resourcesIn(s.json, "AWS::EC2::LaunchTemplate")[lt]["Properties"].(obj)["LaunchTemplateData"].(obj)
	return flattenAll(data["UserData"].(obj)["Fn::Base64"])
}

// instanceRoleStatements are the statements of pool's instance role.
func instanceRoleStatements(t *testing.T, s synthesized, pool string) []obj {
	t.Helper()
	var role string
	for id, r := range resourcesIn(s.json, "AWS::IAM::Role") {
		if d, _ := r["Properties"].(obj)["Description"].(string); d == "runs "+s.settings.Prefix+"-worker-"+pool {
			role = id
		}
	}
	require.NotEmpty(t, role)
	var out []obj
	for _, p := range resourcesIn(s.json, "AWS::IAM::Policy") {
		props := p["Properties"].(obj)
		if slices.ContainsFunc(props["Roles"].([]any), func(r any) bool { return r.(obj)["Ref"] == role }) {
			for _, st := range props["PolicyDocument"].(obj)["Statement"].([]any) {
				out = append(out, st.(obj))
			}
		}
	}
	return out
}

// TestEC2PoolImages: an EC2 pool with an image other than the stock one
// runs it with Docker under the container unit (from an image asset or
// from ECR, logging in to the registry, which its role may pull from);
// with the stock image it runs the binary under the binary's unit.
func TestEC2PoolImages(t *testing.T) {
	s, _, _ := imagesStack(t)
	for pool, want := range map[string]struct{ image, registry, repository string }{
		"sqltools": {
			image:      `000000000000\.dkr\.ecr\.us-east-1\.\$\{AWS::URLSuffix\}/cdk-[a-z0-9]+-container-assets-000000000000-us-east-1:[0-9a-f]{64}`,
			registry:   `000000000000\.dkr\.ecr\.us-east-1\.\$\{AWS::URLSuffix\}`,
			repository: "cdk-[a-z0-9]+-container-assets-000000000000-us-east-1",
		},
		"ec2ecr": {
			image:      regexp.QuoteMeta(imagesECRDigest),
			registry:   regexp.QuoteMeta("123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
			repository: "sql-worker",
		},
	} {
		ud := instanceUserData(t, s, pool)
		require.Equal(t, ec2.ContainerUnit, heredoc(t, ud, ec2.UnitPath), pool)
		require.Regexp(t, `^SCALEOUT_IMAGE=`+want.image+`\nSCALEOUT_ECR_REGISTRY=`+want.registry+`\n$`, heredoc(t, ud, ec2.ImageEnvironmentFile), pool)
		require.Contains(t, ud, "\nsystemctl enable --now docker.service\n", pool)
		require.NotContains(t, ud, "aws s3 cp", "%s: no binary to download", pool)
		env := heredoc(t, ud, ec2.EnvironmentFile)
		require.Contains(t, env, "SCALEOUT_WORKER_POOL="+pool+"\n", pool)
		require.Contains(t, env, "SCALEOUT_TASK_USER="+ec2.TaskUser+"\n", pool)

		var pulls, binary bool
		for _, st := range instanceRoleStatements(t, s, pool) {
			actions := fmt.Sprint(st["Action"])
			if strings.Contains(actions, "ecr:BatchGetImage") {
				pulls = true
				require.Regexp(t, `repository/`+want.repository+`$`, flattenAll(st["Resource"]), pool)
			}
			binary = binary || st["Sid"] == "WorkerBinary"
		}
		require.True(t, pulls, "%s: the instance role pulls the image", pool)
		require.False(t, binary, "%s: no binary object to read", pool)
	}
	ud := instanceUserData(t, s, "ec2stock")
	require.Equal(t, ec2.WorkerUnit, heredoc(t, ud, ec2.UnitPath))
	require.Contains(t, ud, "aws s3 cp")
	require.NotContains(t, ud, ec2.ImageEnvironmentFile)
}

// TestIsolatedEC2ContainerPoolReachesECR: an EC2 pool that pulls an image
// has the ECR endpoints without a NAT gateway; the Fargate-only ones
// (logs, ecs) stay out.
func TestIsolatedEC2ContainerPoolReachesECR(t *testing.T) {
	_, iso, _ := imagesStack(t)
	got := endpointServices(iso.json)
	require.Equal(t, "Interface", got["ecr.api"])
	require.Equal(t, "Interface", got["ecr.dkr"])
	require.Equal(t, "Gateway", got["s3"], "ECR keeps the layers in S3")
	require.NotContains(t, got, "logs")
	require.NotContains(t, got, "ecs")
}

// TestContainerUnitMatchesTheImages: the container unit's firewall rules
// name the task user's uid the images create, and it stops the worker
// within the Fargate task's stop timeout.
func TestContainerUnitMatchesTheImages(t *testing.T) {
	t.Parallel()
	uid := fmt.Sprintf("--uid-owner %d ", ec2.TaskUID)
	require.Equal(t, 4, strings.Count(ec2.ContainerUnit, uid), "the IPv4 rules' check and insert, in one loop, and the IPv6 rule's")
	for _, addr := range ec2.MetadataAddresses {
		require.Contains(t, ec2.ContainerUnit, addr)
	}
	require.Contains(t, ec2.ContainerUnit, "\nTimeoutStopSec=120s\n")
	require.Contains(t, ec2.ContainerUnit, "--network host", "the worker reaches IMDSv2 with a hop limit of 1")
	require.Contains(t, ec2.ContainerUnit, "--env-file "+ec2.EnvironmentFile+" ")
	require.Contains(t, ec2.ContainerUnit, "EnvironmentFile="+ec2.ImageEnvironmentFile+"\n")
}
