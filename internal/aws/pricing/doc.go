// Package pricing holds the AWS list prices Scaleout's costs are figured
// with, in one table (ListPrices, with the date they were checked), and
// turns a measured usage (HTTP API requests, Lambda invocations and
// GB-seconds, DynamoDB request units, SQS requests, EventBridge events)
// into US dollars, component by component so that a reader can check the
// sum. make bench uses it for its cost figures.
package pricing
