package engine

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSensitiveValuesNeverLeave(t *testing.T) {
	t.Parallel()
	const token, other = "s3cr3t-XYZ", "hunter2"
	b := setup(t)
	res, events := b.run(t, `{"name": "leaky", "parameters": {"token": {"type": "string", "sensitive": true}},
		"variables": {"copy": {"type": "string"}, "list": {"type": "list"}},
		"tasks": [
		{"name": "echo", "type": "ok", "with": {"say": "token=${params.token}", "warn": "${params.token} and hunter2",
			"output": {"tok": "${params.token}", "deep": ["x", {"k": "Bearer ${params.token}"}]}},
			"outputs": {"copy": "tok", "list": "deep"}},
		{"name": "same", "type": "ok", "after": [{"task": "echo", "when": "vars.copy == params.token"}]},
		{"name": "fails", "type": "boom", "with": {"message": "login with ${params.token} refused"}, "retry": {"attempts": 2},
			"after": [{"task": "same"}]},
		{"name": "each", "type": "foreach", "items": "[params.token]", "tasks": [
			{"name": "x", "type": "boom", "with": {"message": "hunter2 in the error"}}]}]}`,
		RunOptions{Params: map[string]any{"token": token}, Sensitive: []string{other, ""}})

	// Expressions saw the real value: "same" ran.
	require.Equal(t, Succeeded, taskResult(t, res, "same").Status)
	require.Equal(t, Failed, res.Status)

	for _, e := range events {
		line := fmt.Sprintf("%+v", e)
		require.NotContains(t, line, token)
		require.NotContains(t, line, other)
	}
	all, err := json.Marshal(struct {
		R Result
		E []Event
	}{res, events})
	require.NoError(t, err)
	require.NotContains(t, string(all), token)
	require.NotContains(t, string(all), other)
	require.NotContains(t, fmt.Sprintf("%#v", res), token)

	// What was redacted is still there, masked.
	require.Equal(t, "***", res.Vars["copy"])
	require.Equal(t, []any{"x", map[string]any{"k": "Bearer ***"}}, res.Vars["list"])
	require.Equal(t, "login with *** refused", taskResult(t, res, "fails").Error)
	require.Equal(t, "each[***]/x", res.Tasks[len(res.Tasks)-1].Path)
	require.Equal(t, "fails: login with *** refused", res.Error)
	require.Equal(t, "*** in the error", res.Tasks[len(res.Tasks)-1].Error)
	var said []string
	for _, e := range events {
		if e.Kind == Output || e.Kind == Warning || e.Kind == TaskRetry {
			said = append(said, e.Message)
		}
	}
	require.Equal(t, []string{"token=***", "*** and ***", "login with *** refused"}, said)
}

func TestRedactor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		secrets []string
		in      string
		want    string
	}{
		{secrets: nil, in: "nothing to hide", want: "nothing to hide"},
		{secrets: []string{""}, in: "empty secrets are ignored", want: "empty secrets are ignored"},
		{secrets: []string{"abc"}, in: "abc-abcabc", want: "***-******"},
		{secrets: []string{"pass", "password1"}, in: "password1 pass", want: "*** ***"},
		{secrets: []string{"a b", "a b"}, in: "x a b y", want: "x *** y"},
	} {
		r := newRedactor(tc.secrets)
		require.Equal(t, tc.want, r.str(tc.in), strings.Join(tc.secrets, ","))
	}
	r := newRedactor([]string{"k3y"})
	require.Equal(t, map[string]any{"***": []any{"x***", 1, true}},
		r.value(map[string]any{"k3y": []any{"xk3y", 1, true}}))
	require.Equal(t, "***", r.value(fmt.Errorf("k3y")))
}
