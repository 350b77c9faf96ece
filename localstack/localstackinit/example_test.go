package localstackinit_test

import (
	"fmt"
	"maps"
	"slices"

	"github.com/scaleout/scaleout/internal/aws/resources"
	"github.com/scaleout/scaleout/localstack/localstackinit"
)

// The files of the default installation, as committed under
// localstack/init/ready.d/resources/.
func ExampleFiles() {
	set, err := resources.New(resources.DefaultPrefix)
	if err != nil {
		panic(err)
	}
	files, err := localstackinit.Files(set)
	if err != nil {
		panic(err)
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		fmt.Println(name)
	}
	fmt.Print(string(files["ttl-scaleout-executions.json"]))
	// Output:
	// queue-scaleout-pool-default-dlq.json
	// queue-scaleout-pool-default.json
	// table-scaleout-catalog.json
	// table-scaleout-executions.json
	// ttl-scaleout-catalog.json
	// ttl-scaleout-executions.json
	// {
	//   "TableName": "scaleout-executions",
	//   "TimeToLiveSpecification": {
	//     "AttributeName": "expires_at",
	//     "Enabled": true
	//   }
	// }
}
