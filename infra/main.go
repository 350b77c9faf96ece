// Command infra is Scaleout's AWS CDK app. `make synth` builds it to
// bin/infra and runs `cdk synth --app bin/infra`; see infra.mk and package
// stack for the settings it reads from CDK context.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/scaleout/scaleout/infra/stack"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	settings, err := stack.SettingsFrom(func(key string) any { return app.Node().TryGetContext(jsii.String(key)) })
	if err == nil {
		_, err = stack.New(app, "Scaleout", stack.Props{
			StackProps: awscdk.StackProps{Env: env()},
			Settings:   settings,
		})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		jsii.Close()
		os.Exit(1)
	}
	app.Synth(nil)
}

// env pins the stack to the account and region the CDK CLI resolved
// (CDK_DEFAULT_ACCOUNT, CDK_DEFAULT_REGION), or leaves it
// environment-agnostic when they are unset.
func env() *awscdk.Environment {
	account, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION")
	if account == "" && region == "" {
		return nil
	}
	return &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)}
}
