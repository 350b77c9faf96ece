package stack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// ImageKind is where a pool's worker image comes from (see
// ContextWorkerImage).
type ImageKind string

// The image sources; "" means ImageStock.
const (
	// ImageStock is the Dockerfile at the repository root (sourceDir):
	// Alpine, busybox, the worker. An EC2 pool with it runs the worker
	// binary under systemd, with no container.
	ImageStock ImageKind = "stock"
	// ImageDir is a folder holding a Dockerfile, built by `cdk deploy` as
	// an image asset with the folder as its context and the repository
	// root as the named build context "scaleout" (WorkerSourcesContext),
	// from which the Dockerfile builds the worker.
	ImageDir ImageKind = "dir"
	// ImageURI is an image already built and pushed: to ECR (the workers'
	// roles may pull it) or to a public registry.
	ImageURI ImageKind = "uri"
)

// imageKinds are the kinds in the order error messages list them.
var imageKinds = []ImageKind{ImageStock, ImageDir, ImageURI}

// WorkerSourcesContext names the build context that holds the worker's
// sources (the repository root, sourceDir) when a pool's image is built
// from a folder: its Dockerfile copies them with COPY --from=scaleout.
// By hand: docker build --build-context scaleout=. <folder>.
const WorkerSourcesContext = "scaleout"

// Image is a pool's worker image source.
type Image struct {
	// Kind is ImageStock ("" too), ImageDir or ImageURI.
	Kind ImageKind
	// Dir is ImageDir's folder, relative to the working directory.
	Dir string
	// URI is ImageURI's image: [registry/]repository[:tag][@sha256:digest].
	URI string
}

// Stock reports whether the pool runs the stock image.
func (i Image) Stock() bool { return i.Kind == "" || i.Kind == ImageStock }

// String is the image source as ContextWorkerImage takes it.
func (i Image) String() string {
	switch {
	case i.Stock():
		return string(ImageStock)
	case i.Kind == ImageDir:
		return "dir:" + i.Dir
	case i.Kind == ImageURI:
		return "uri:" + i.URI
	}
	return string(i.Kind)
}

// ParseImage reads an image source: "stock", "dir:<folder>" or
// "uri:<image>". Its checks beyond the kind are Image.validate's.
func ParseImage(v string) (Image, error) {
	v = strings.TrimSpace(v)
	kind, arg, hasArg := strings.Cut(v, ":")
	kind = strings.ToLower(strings.TrimSpace(kind))
	arg = strings.TrimSpace(arg)
	switch ImageKind(kind) {
	case ImageStock:
		if hasArg {
			return Image{}, fmt.Errorf("%q: stock takes nothing after it (the Dockerfile at the repository root)", v)
		}
		return Image{Kind: ImageStock}, nil
	case ImageDir:
		if arg == "" {
			return Image{}, errors.New(`"dir:" names no folder: give dir:<folder holding a Dockerfile>, such as dir:examples/images/dbt`)
		}
		return Image{Kind: ImageDir, Dir: arg}, nil
	case ImageURI:
		if arg == "" {
			return Image{}, errors.New(`"uri:" names no image: give uri:<image>, such as uri:123456789012.dkr.ecr.us-east-1.amazonaws.com/etl-worker:1.4`)
		}
		return Image{Kind: ImageURI, URI: arg}, nil
	}
	hint := ""
	switch k := closestKind(kind); {
	case k != "":
		hint = fmt.Sprintf("; did you mean %q?", k)
	case isDir(v):
		hint = fmt.Sprintf("; did you mean %q?", "dir:"+v)
	case strings.Contains(v, "/"):
		hint = fmt.Sprintf("; did you mean %q?", "uri:"+redactCredentials(v))
	}
	if kind == "" {
		return Image{}, fmt.Errorf("no image source: give stock, dir:<folder> or uri:<image>")
	}
	if !hasArg && !strings.Contains(v, "/") {
		return Image{}, fmt.Errorf("unknown image source %q: give stock, dir:<folder> or uri:<image>%s", v, hint)
	}
	return Image{}, fmt.Errorf("unknown image source kind in %q: give stock, dir:<folder> (a Dockerfile's folder) or uri:<image> (a pushed image)%s",
		redactCredentials(v), hint)
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// closestKind is the kind within two edits of kind, for a "did you mean".
func closestKind(kind string) ImageKind {
	// Common names for the same things.
	switch kind {
	case "dockerfile", "docker", "folder", "directory", "path", "asset":
		return ImageDir
	case "image", "ecr", "registry", "url":
		return ImageURI
	case "default", "builtin":
		return ImageStock
	}
	for _, k := range imageKinds {
		if len(kind) > 1 && editDistance(kind, string(k)) <= 2 {
			return k
		}
	}
	return ""
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// imageReference is an image reference as Docker reads one (the grammar of
// github.com/distribution/reference): an optional registry host[:port], a
// lower-case repository path, and a tag or a digest or both.
var imageReference = regexp.MustCompile(`^` +
	`(?:(?P<registry>(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?)/)?` +
	`(?P<repository>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)` +
	`(?::(?P<tag>[\w][\w.-]{0,127}))?` +
	`(?:@(?P<digest>sha256:[0-9a-f]{64}))?$`)

// ecrRegistry matches a private ECR registry host: account, region.
var ecrRegistry = regexp.MustCompile(`^([0-9]{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$`)

// imageRef is a parsed image URI.
type imageRef struct {
	registry, repository, tag, digest string
	// ECR is set for a private ECR registry's image.
	ecr *ecrRef
}

type ecrRef struct{ account, region, partition string }

// tagOrDigest is what ECS pulls: the digest when there is one, else the
// tag ("latest" when none).
func (r imageRef) tagOrDigest() string {
	switch {
	case r.digest != "":
		return r.digest
	case r.tag != "":
		return r.tag
	}
	return "latest"
}

// parseImageURI checks an image URI. A registry is the first path element
// when it holds a '.' or a ':' or is localhost (Docker's rule); without
// one the image is Docker Hub's.
func parseImageURI(uri string) (imageRef, error) {
	if strings.Contains(uri, "://") {
		return imageRef{}, fmt.Errorf("%q: give the image without a scheme, as docker pull takes it (registry/repository:tag)", redactCredentials(uri))
	}
	if at := strings.Index(uri, "@"); at >= 0 && !strings.HasPrefix(uri[at+1:], "sha256:") {
		// user:password@registry/...: never echo it.
		return imageRef{}, errors.New("an image URI holds no credentials (it has an '@' not followed by sha256:); " +
			"the workers pull from ECR with their role, or from a public registry")
	}
	m := imageReference.FindStringSubmatch(uri)
	if m == nil {
		return imageRef{}, fmt.Errorf("%q is not an image reference: give [registry/]repository[:tag][@sha256:<digest>], "+
			"the repository in lower case (such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/etl-worker:1.4 or public.ecr.aws/org/image:tag)", uri)
	}
	r := imageRef{
		registry:   m[imageReference.SubexpIndex("registry")],
		repository: m[imageReference.SubexpIndex("repository")],
		tag:        m[imageReference.SubexpIndex("tag")],
		digest:     m[imageReference.SubexpIndex("digest")],
	}
	if r.registry != "" && !strings.ContainsAny(r.registry, ".:") && r.registry != "localhost" {
		// "org/image": a Docker Hub path, not a registry.
		r.repository, r.registry = r.registry+"/"+r.repository, ""
		if strings.ToLower(r.repository) != r.repository {
			return imageRef{}, fmt.Errorf("%q: a repository is lower case", uri)
		}
	}
	if r.registry == "localhost" || strings.HasPrefix(r.registry, "localhost:") || strings.HasPrefix(r.registry, "127.") {
		return imageRef{}, fmt.Errorf("%q: the workers cannot pull from this computer's registry: push the image to ECR", uri)
	}
	if e := ecrRegistry.FindStringSubmatch(r.registry); e != nil {
		partition := "aws"
		if e[3] != "" {
			partition = "aws-cn"
		}
		r.ecr = &ecrRef{account: e[1], region: e[2], partition: partition}
	}
	return r, nil
}

// redactCredentials drops what comes before an '@' that does not start a
// digest, so that an image URI with user:password@ is never echoed.
func redactCredentials(s string) string {
	if at := strings.LastIndex(s, "@"); at >= 0 && !strings.HasPrefix(s[at+1:], "sha256:") {
		return "<redacted>@" + s[at+1:]
	}
	return s
}

// validate checks the image source of pool: the folder and its
// Dockerfile, or the URI, and that an isolated VPC (natGateways=0) can
// reach the image's registry.
func (i Image) validate(pool string, nat int) error {
	prefix := fmt.Sprintf("pool %q: %s=%s", pool, ContextWorkerImage, i)
	switch {
	case i.Stock():
		return nil
	case i.Kind == ImageDir:
		fi, err := os.Stat(i.Dir)
		switch {
		case err != nil:
			return fmt.Errorf("%s: no folder %s (relative to %s): give the folder that holds the image's Dockerfile", prefix, i.Dir, workingDir())
		case !fi.IsDir():
			return fmt.Errorf("%s: %s is a file: give the folder that holds it (the build context)", prefix, i.Dir)
		case !isFile(filepath.Join(i.Dir, "Dockerfile")):
			return fmt.Errorf("%s: the folder has no Dockerfile: add one (examples/images/ has two to start from)", prefix)
		}
		text, err := os.ReadFile(filepath.Join(i.Dir, "Dockerfile"))
		if err != nil {
			return fmt.Errorf("%s: %w", prefix, err)
		}
		if err := CheckWorkerDockerfile(string(text)); err != nil {
			return fmt.Errorf("%s: %s is not a worker image: %w", prefix, filepath.Join(i.Dir, "Dockerfile"), err)
		}
		return nil
	case i.Kind == ImageURI:
		ref, err := parseImageURI(i.URI)
		if err != nil {
			return fmt.Errorf("pool %q: %s: %w", pool, ContextWorkerImage, err)
		}
		if nat == 0 && ref.ecr == nil {
			return fmt.Errorf("%s: with %s=0 the workers reach only AWS through VPC endpoints, not this registry: "+
				"push the image to ECR (docker pull, tag, push), or give %s=1", prefix, ContextNATGateways, ContextNATGateways)
		}
		return nil
	}
	return fmt.Errorf("pool %q: %s: unknown image source kind %q: give stock, dir:<folder> or uri:<image>", pool, ContextWorkerImage, i.Kind)
}

func workingDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "the working directory"
	}
	return wd
}
