// Package awsmeter meters what AWS SDK for Go v2 calls cost: an
// aws.Config.APIOptions middleware (Meter.APIOption) that, on every client
// built from that configuration, counts each operation and times it, asks
// DynamoDB for the capacity each call consumes (ReturnConsumedCapacity
// INDEXES) and sums it per table, per index and per operation, read units
// and write units apart, and counts SQS requests as SQS bills them (one per
// call, or one per 64 KiB chunk of the messages' payload when that is more).
//
// It is for measuring (the make bench cost figures, tests): production
// clients never ask for consumed capacity. Take returns what was metered
// since the previous Take and starts afresh.
//
//	m := awsmeter.New()
//	cfg.APIOptions = append(cfg.APIOptions, m.APIOption)
//	db := dynamodb.NewFromConfig(cfg)
//	... // calls
//	u := m.Take()
//	fmt.Println(u.WriteUnits(), u.ReadUnits(), u.SQSRequests())
package awsmeter
