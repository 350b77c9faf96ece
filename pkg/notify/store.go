package notify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scaleout/scaleout/pkg/resources"
)

// DynamoStore keeps delivery records in the catalog table: pk
// "NOTIFY#<execution_id>", sk "WEBHOOK", expiring after Retention.
type DynamoStore struct {
	db    *dynamodb.Client
	table string
	// Retention is how long a record is kept (default 30 days).
	Retention time.Duration
}

// NewDynamoStore returns the delivery store on the catalog table.
func NewDynamoStore(db *dynamodb.Client, table string) *DynamoStore {
	return &DynamoStore{db: db, table: table, Retention: 30 * 24 * time.Hour}
}

func recordKey(executionID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		resources.CatalogPK: &types.AttributeValueMemberS{Value: resources.CatalogNotifyPrefix + executionID},
		resources.CatalogSK: &types.AttributeValueMemberS{Value: resources.CatalogNotifySK},
	}
}

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// Claim creates the record, or reads the one there.
func (s *DynamoStore) Claim(ctx context.Context, executionID string, now time.Time) (Claim, error) {
	item := recordKey(executionID)
	item["execution_id"] = &types.AttributeValueMemberS{Value: executionID}
	item["delivery_id"] = &types.AttributeValueMemberS{Value: DeliveryID(executionID)}
	item["delivered"] = &types.AttributeValueMemberBOOL{Value: false}
	item["created_at"] = num(now.UnixMilli())
	item[resources.TTLAttribute] = num(now.Add(s.Retention).Unix())
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(s.table),
		Item:                                item,
		ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames:            map[string]string{"#pk": resources.CatalogPK},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return First, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return 0, fmt.Errorf("put delivery record: %w", err)
	}
	old := ccf.Item
	if len(old) == 0 {
		out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: recordKey(executionID), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return 0, fmt.Errorf("read delivery record: %w", err)
		}
		old = out.Item
	}
	if d, ok := old["delivered"].(*types.AttributeValueMemberBOOL); ok && d.Value {
		return Delivered, nil
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       recordKey(executionID),
		UpdateExpression:          aws.String("ADD redeliveries :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)},
	})
	if err != nil {
		return 0, fmt.Errorf("count redelivery: %w", err)
	}
	return Redeliver, nil
}

// MarkDelivered marks the record delivered.
func (s *DynamoStore) MarkDelivered(ctx context.Context, executionID string, now time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       recordKey(executionID),
		UpdateExpression:          aws.String("SET delivered = :t, delivered_at = :now REMOVE last_error"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}, ":now": num(now.UnixMilli())},
	})
	if err != nil {
		return fmt.Errorf("mark webhook of %s delivered: %w", executionID, err)
	}
	return nil
}

// MarkFailed records why the last send failed.
func (s *DynamoStore) MarkFailed(ctx context.Context, executionID, reason string, now time.Time) error {
	if len(reason) > 1024 {
		reason = reason[:1024]
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(s.table),
		Key:              recordKey(executionID),
		UpdateExpression: aws.String("SET last_error = :e, failed_at = :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":e": &types.AttributeValueMemberS{Value: reason}, ":now": num(now.UnixMilli()),
		},
	})
	if err != nil {
		return fmt.Errorf("record webhook failure of %s: %w", executionID, err)
	}
	return nil
}
