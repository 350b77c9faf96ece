package pkgfile_test

import (
	"fmt"

	"github.com/scaleout/scaleout/internal/packages/pkgfile"
)

func ExampleLoad() {
	types := fakeTypes() // the engine passes the built-in task types
	_, err := pkgfile.Load([]byte(`
name: load-sales
parameters:
  date: {type: string, required: true}
variables:
  rows: {type: int, default: 0}
tasks:
  - name: extract
    type: http
    with: {url: "https://example.test/sales?date=${params.dte}"}
    outputs: {rowz: body.count}
  - name: transform
    type: exec
    with: {command: [./transform.sh]}
    after: [{task: extrct, when: "vars.rows > 0"}]
  - name: load
    type: exce
`), "load-sales.yaml", types)
	fmt.Println(err)

	p, err := pkgfile.LoadFile("../../../examples/hello.yaml", types)
	fmt.Println(p.Name, p.Tasks[0].Name, err)
	// Output:
	// load-sales.yaml: 4 problems:
	//	load-sales.yaml:10: tasks[0] "extract".with.url: params.dte: no such parameter (declared: date); did you mean "date"?
	//	load-sales.yaml:11: tasks[0] "extract".outputs.rowz: variable "rowz" is not declared: declare it under variables; did you mean "rows"?
	//	load-sales.yaml:15: tasks[1] "transform".after[0]: unknown task "extrct"; did you mean "extract"?
	//	load-sales.yaml:17: tasks[2] "load".type: unknown task type "exce" (known: exec, fail, foreach, http, sequence, set, sleep); did you mean "exec"?
	// hello greet <nil>
}

func ExampleBind() {
	p, err := pkgfile.Parse([]byte(`
name: report
parameters:
  day:     {type: datetime, required: true}
  regions: {type: list, default: [eu]}
  limit:   {type: int, default: 100}
  token:   {type: string, sensitive: true}
tasks: [{name: a, type: fail}]
`), "report.yaml")
	if err != nil {
		panic(err)
	}
	// From the command line: --param day=... --param regions=eu,us --param token=...
	values, err := pkgfile.Bind(p, map[string]string{
		"day": "2026-11-25T06:00:00Z", "regions": "eu,us", "token": "s3cret",
	}, nil)
	fmt.Println(values["day"], values["regions"], values["limit"], err)
	fmt.Println(pkgfile.NewRedactor(pkgfile.Sensitive(p, values)).Redact("Authorization: Bearer s3cret"))

	// From the HTTP API, as JSON values: every problem at once, and never a
	// sensitive value.
	_, err = pkgfile.Bind(p, nil, map[string]any{"limit": "ten", "token": 42.0, "region": "eu"})
	fmt.Println(err)
	// Output:
	// 2026-11-25 06:00:00 +0000 UTC [eu us] 100 <nil>
	// Authorization: Bearer ***
	// 4 problems:
	//	parameters.day: required, and no value was given
	//	parameters.limit: want int, got "ten"
	//	parameters.region: the package declares no such parameter (declared: day, limit, regions, token); did you mean "regions"?
	//	parameters.token: want string, got a value of another type
}
