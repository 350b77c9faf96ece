package stack

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecr"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecrassets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// poolImage is a pool's worker image (other than the stock one) as the
// stack uses it: a Fargate service's container image, or what an EC2
// pool's instances pull with Docker.
type poolImage struct {
	// ecs is the Fargate container's image.
	ecs awsecs.ContainerImage
	// uri is the image an instance pulls (a token for an image asset).
	uri string
	// registry is the ECR registry an instance logs in to ("": a public
	// image, pulled without logging in).
	registry string
	// grantPull lets an EC2 pool's instance role pull the image (nil: a
	// public image). Fargate's execution role gets its grant from ecs.
	grantPull func(awsiam.IGrantable)
}

// newPoolImages defines the images of the pools whose image is not the
// stock one: one image asset per folder and one repository reference per
// ECR image, shared by the pools that name the same one.
func newPoolImages(scope constructs.Construct, set Settings) (map[string]poolImage, error) {
	out := map[string]poolImage{}
	byImage := map[Image]poolImage{}
	var sourcesHash *string
	for _, pool := range set.Pools {
		img := set.Worker(pool).Image
		if img.Stock() {
			continue
		}
		if p, ok := byImage[img]; ok {
			out[pool] = p
			continue
		}
		var p poolImage
		switch img.Kind {
		case ImageDir:
			if sourcesHash == nil {
				h, err := workerSourcesHash(set.SourceDir)
				if err != nil {
					return nil, err
				}
				sourcesHash = &h
			}
			p = newDirImage(scope, set, img.Dir, *sourcesHash)
		case ImageURI:
			ref, err := parseImageURI(img.URI)
			if err != nil {
				return nil, fmt.Errorf("pool %q: %w", pool, err)
			}
			p = newURIImage(scope, img.URI, ref)
		}
		byImage[img], out[pool] = p, p
	}
	return out, nil
}

// newDirImage builds the Dockerfile in dir with `cdk deploy`: the folder is
// the build context, and the worker's sources (sourceDir, filtered by its
// .dockerignore) are the named context WorkerSourcesContext, from which
// the Dockerfile builds the worker (COPY --from=scaleout). The asset's
// hash covers the folder and, through sourcesHash, the worker's sources,
// so that a change to either builds a new image.
func newDirImage(scope constructs.Construct, set Settings, dir, sourcesHash string) poolImage {
	sources, err := filepath.Abs(set.SourceDir)
	if err != nil {
		sources = set.SourceDir // Abs fails only without a working directory
	}
	var buildArgs *map[string]*string
	if set.Version != "" {
		buildArgs = &map[string]*string{"VERSION": jsii.String(set.Version)}
	}
	asset := awsecrassets.NewDockerImageAsset(scope, jsii.String("WorkerImage-"+constructName(dir)), &awsecrassets.DockerImageAssetProps{
		Directory:     jsii.String(dir),
		File:          jsii.String("Dockerfile"),
		Platform:      awsecrassets.Platform_LINUX_ARM64(),
		BuildArgs:     buildArgs,
		BuildContexts: &map[string]*string{WorkerSourcesContext: jsii.String(sources)},
		ExtraHash:     jsii.String(sourcesHash),
		DisplayName:   jsii.String("scaleout worker image " + filepath.ToSlash(dir)),
	})
	stack := awscdk.Stack_Of(scope)
	return poolImage{
		ecs:       awsecs.ContainerImage_FromDockerImageAsset(asset),
		uri:       *asset.ImageUri(),
		registry:  fmt.Sprintf("%s.dkr.ecr.%s.%s", *stack.Account(), *stack.Region(), *stack.UrlSuffix()),
		grantPull: func(g awsiam.IGrantable) { asset.Repository().GrantPull(g) },
	}
}

// newURIImage is a pushed image: from ECR, through a reference to its
// repository (so that the roles that pull it get grants on it alone), or
// from a public registry.
func newURIImage(scope constructs.Construct, uri string, ref imageRef) poolImage {
	if ref.ecr == nil {
		return poolImage{ecs: awsecs.ContainerImage_FromRegistry(jsii.String(uri), nil), uri: uri}
	}
	arn := fmt.Sprintf("arn:%s:ecr:%s:%s:repository/%s", ref.ecr.partition, ref.ecr.region, ref.ecr.account, ref.repository)
	repo := awsecr.Repository_FromRepositoryArn(scope, jsii.String("WorkerImageRepository-"+constructName(ref.registry+"/"+ref.repository)), jsii.String(arn))
	return poolImage{
		ecs:       awsecs.ContainerImage_FromEcrRepository(repo, jsii.String(ref.tagOrDigest())),
		uri:       uri,
		registry:  ref.registry,
		grantPull: func(g awsiam.IGrantable) { repo.GrantPull(g) },
	}
}

// unsafeConstructChars are what a construct id may not hold.
var unsafeConstructChars = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// constructName turns a path or image name into a construct id's part.
func constructName(s string) string {
	return strings.Trim(unsafeConstructChars.ReplaceAllString(filepath.ToSlash(filepath.Clean(s)), "-"), "-.")
}

// workerSourcesHash fingerprints the worker's sources as Docker sees them:
// sourceDir without what its .dockerignore leaves out.
func workerSourcesHash(sourceDir string) (string, error) {
	var exclude []*string
	f, err := os.Open(filepath.Join(sourceDir, ".dockerignore"))
	if err == nil {
		defer func() { _ = f.Close() }() // read only
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
				exclude = append(exclude, jsii.String(line))
			}
		}
		if err := sc.Err(); err != nil {
			return "", fmt.Errorf("read %s: %w", f.Name(), err)
		}
	} else if !os.IsNotExist(err) {
		return "", err
	}
	return *awscdk.FileSystem_Fingerprint(jsii.String(sourceDir), &awscdk.FingerprintOptions{
		Exclude:    &exclude,
		IgnoreMode: awscdk.IgnoreMode_DOCKER,
	}), nil
}
