package execstore

import (
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/scaleout/scaleout/internal/executions/execution"
)

// itemSize is the size DynamoDB counts for an item against its 400 KiB
// limit: each attribute's name and value; a string or binary its bytes, a
// number about one byte per two digits plus one, a list or map 3 bytes
// plus its elements and one byte each (a map's keys counted as names), a
// boolean or null one byte. Numbers are counted a byte high, so it errs on
// the large side.
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return len(v.Value)/2 + 2
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += len(s)/2 + 2
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	}
	return 0
}

// checkSubmittedSize refuses an execution item over
// execution.MaxSubmittedBytes, saying what takes the room.
func checkSubmittedSize(e execution.Execution, av map[string]types.AttributeValue) error {
	size := itemSize(av)
	params := 0
	for _, k := range []string{"parameters", "sealed_parameters"} {
		if v, ok := av[k]; ok {
			params += valueSize(v)
		}
	}
	return execution.CheckSubmittedSize(e, size, params)
}

// tooLarge reports whether err is DynamoDB refusing a write that would
// make an item larger than it holds.
func tooLarge(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ValidationException" &&
		strings.Contains(strings.ToLower(ae.ErrorMessage()), "item size")
}
