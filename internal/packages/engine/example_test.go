package engine_test

import (
	"context"
	"fmt"

	"github.com/scaleout/scaleout/internal/packages/engine"
	"github.com/scaleout/scaleout/internal/packages/pkgfile"
	"github.com/scaleout/scaleout/internal/packages/task"
)

// greet says hello to with.who.
type greet struct{}

func (greet) Check(map[string]any) error { return nil }
func (greet) Run(_ context.Context, in task.Input) (task.Output, error) {
	msg := fmt.Sprintf("hello, %v", in.With["who"])
	in.Log.Output("", msg)
	return task.Output{"message": msg}, nil
}

func Example() {
	types := task.NewRegistry()
	types.MustRegister("greet", greet{})

	plan, err := engine.Compile(&pkgfile.Package{
		Name:       "hello",
		Parameters: map[string]pkgfile.Parameter{"regions": {Type: pkgfile.List}},
		Variables:  map[string]pkgfile.Variable{"last": {Type: pkgfile.String}},
		Tasks: []pkgfile.Task{
			{Name: "each", Type: engine.Foreach, Items: "params.regions", Tasks: []pkgfile.Task{
				{Name: "hi", Type: "greet", With: map[string]any{"who": "${item}"}, Outputs: map[string]string{"last": "message"}},
			}},
			{Name: "bye", Type: "greet", With: map[string]any{"who": "${vars.last}"},
				After: []pkgfile.Constraint{{Task: "each", When: `vars.last != ""`}}},
		},
	}, types)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := engine.Run(context.Background(), plan, engine.RunOptions{
		Params: map[string]any{"regions": []any{"eu", "us"}},
		Sink: engine.SinkFunc(func(e engine.Event) {
			if e.Kind == engine.Output {
				fmt.Println(e.Task+":", e.Message)
			}
		}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Status)
	for _, t := range res.Tasks {
		fmt.Println(t.Path, t.Status)
	}
	// Output:
	// each[eu]/hi: hello, eu
	// each[us]/hi: hello, us
	// bye: hello, hello, us
	// succeeded
	// each succeeded
	// each[eu]/hi succeeded
	// each[us]/hi succeeded
	// bye succeeded
}
