package pricing

import "fmt"

// Prices are list prices in USD.
type Prices struct {
	// Region and Checked say where and when the prices were read.
	Region, Checked string
	// HTTPAPIPerMillion is API Gateway's HTTP API, per million requests
	// (the first 300 million a month).
	HTTPAPIPerMillion float64
	// LambdaPerMillion is Lambda's per-request price, per million
	// invocations.
	LambdaPerMillion float64
	// LambdaARMPerGBSecond is Lambda's duration price on arm64 (the first
	// 7.5 billion GB-seconds a month).
	LambdaARMPerGBSecond float64
	// DynamoDBWRUPerMillion and DynamoDBRRUPerMillion are DynamoDB on-demand
	// write and read request units (Standard table class), per million.
	DynamoDBWRUPerMillion, DynamoDBRRUPerMillion float64
	// SQSPerMillion is SQS standard queue requests, per million (after the
	// free tier, up to 100 billion a month).
	SQSPerMillion float64
	// EventBridgePerMillion is EventBridge custom events put, per million.
	EventBridgePerMillion float64
}

// ListPrices are the public us-east-1 list prices, as of 2026-12 (checked
// on AWS's pricing pages then; free tiers left out).
var ListPrices = Prices{
	Region:                "us-east-1",
	Checked:               "2026-12",
	HTTPAPIPerMillion:     1.00,
	LambdaPerMillion:      0.20,
	LambdaARMPerGBSecond:  0.0000133334,
	DynamoDBWRUPerMillion: 0.625,
	DynamoDBRRUPerMillion: 0.125,
	SQSPerMillion:         0.40,
	EventBridgePerMillion: 1.00,
}

// Usage is what some work uses, in billed units.
type Usage struct {
	HTTPRequests      float64 // API Gateway HTTP API requests
	LambdaInvocations float64 // Lambda requests
	LambdaGBSeconds   float64 // Lambda duration (billed ms x memory GB / 1000)
	WRU, RRU          float64 // DynamoDB write and read request units
	SQSRequests       float64 // billed SQS requests (64 KB chunks)
	Events            float64 // EventBridge custom events
}

// Add returns u + o.
func (u Usage) Add(o Usage) Usage {
	return Usage{
		HTTPRequests:      u.HTTPRequests + o.HTTPRequests,
		LambdaInvocations: u.LambdaInvocations + o.LambdaInvocations,
		LambdaGBSeconds:   u.LambdaGBSeconds + o.LambdaGBSeconds,
		WRU:               u.WRU + o.WRU,
		RRU:               u.RRU + o.RRU,
		SQSRequests:       u.SQSRequests + o.SQSRequests,
		Events:            u.Events + o.Events,
	}
}

// Scale returns u with every quantity multiplied by f.
func (u Usage) Scale(f float64) Usage {
	return Usage{
		HTTPRequests:      u.HTTPRequests * f,
		LambdaInvocations: u.LambdaInvocations * f,
		LambdaGBSeconds:   u.LambdaGBSeconds * f,
		WRU:               u.WRU * f,
		RRU:               u.RRU * f,
		SQSRequests:       u.SQSRequests * f,
		Events:            u.Events * f,
	}
}

// GBSeconds is the Lambda duration one invocation of a function with
// memoryMiB is billed: its time rounded up to the millisecond, times its
// memory in GB (MiB / 1024, as Lambda counts it).
func GBSeconds(memoryMiB int, ms float64) float64 {
	billed := float64(int64(ms))
	if billed < ms {
		billed++
	}
	return billed / 1000 * float64(memoryMiB) / 1024
}

// Line is one priced component.
type Line struct {
	Name     string
	Quantity float64
	Unit     string
	USD      float64
}

// Cost is priced usage, component by component.
type Cost []Line

// Total is the sum of the components.
func (c Cost) Total() float64 {
	t := 0.0
	for _, l := range c {
		t += l.USD
	}
	return t
}

// String lists the components and the total, one a line.
func (c Cost) String() string {
	s := ""
	for _, l := range c {
		s += fmt.Sprintf("%-26s %14.4f %-12s $%.4f\n", l.Name, l.Quantity, l.Unit, l.USD)
	}
	return s + fmt.Sprintf("%-26s %14s %-12s $%.4f\n", "total", "", "", c.Total())
}

// Cost prices u.
func (p Prices) Cost(u Usage) Cost {
	per := func(n, perMillion float64) float64 { return n / 1e6 * perMillion }
	return Cost{
		{"API Gateway HTTP API", u.HTTPRequests, "requests", per(u.HTTPRequests, p.HTTPAPIPerMillion)},
		{"Lambda requests", u.LambdaInvocations, "invocations", per(u.LambdaInvocations, p.LambdaPerMillion)},
		{"Lambda duration (arm64)", u.LambdaGBSeconds, "GB-s", u.LambdaGBSeconds * p.LambdaARMPerGBSecond},
		{"DynamoDB writes", u.WRU, "WRU", per(u.WRU, p.DynamoDBWRUPerMillion)},
		{"DynamoDB reads", u.RRU, "RRU", per(u.RRU, p.DynamoDBRRUPerMillion)},
		{"SQS requests", u.SQSRequests, "requests", per(u.SQSRequests, p.SQSPerMillion)},
		{"EventBridge events", u.Events, "events", per(u.Events, p.EventBridgePerMillion)},
	}
}
