package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"

	"github.com/scaleout/scaleout/client"
	"github.com/scaleout/scaleout/pkg/messages"
	"github.com/scaleout/scaleout/scaleouttype"
)

// Deploy a project folder, run one of its packages and show its tasks as
// they start and end, as `scaleout deploy` and `scaleout run --wait` do.
// (Not run by `go test`: it needs `scaleout dev` running.)
func Example() {
	ctx := context.Background()
	c, err := client.New(client.Options{Endpoint: client.DefaultEndpoint, Token: os.Getenv("SCALEOUT_TOKEN")})
	if err != nil {
		log.Fatal(err)
	}
	b, err := client.ReadBundle(os.DirFS("examples"))
	if err != nil {
		log.Fatal(err)
	}
	if _, _, err := c.EnsureFolder(ctx, "demo"); err != nil {
		log.Fatal(err)
	}
	v, err := c.Deploy(ctx, "demo", "examples", b)
	if err != nil {
		log.Fatal(err) // an *client.Error listing every problem of every package
	}
	fmt.Println("deployed version", v.Version)

	e, err := c.CreateExecution(ctx, scaleouttype.CreateExecutionRequest{
		Folder: "demo", Project: "examples", Package: "hello", Parameters: map[string]any{"who": "Ada"},
	}, client.IdempotencyKey("hello-ada-2026-11-25"))
	if err != nil {
		log.Fatal(err)
	}
	final, err := c.Follow(ctx, e.ID, client.FollowOptions{
		OnMessage: func(m messages.Message, _ json.RawMessage) error {
			fmt.Println(m.Kind, m.Task, m.Status, m.Message)
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("execution", final.ID, final.Status)
}
