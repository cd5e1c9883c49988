package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
)

// enqueueFlags are the flags of `naq enqueue`.
type enqueueFlags struct {
	args, kwargs  string
	in            time.Duration
	at            string
	retries       int
	retryDelay    string
	retryStrategy string
	retryOn       []string
	ignoreOn      []string
	jobTimeout    time.Duration
	oldTimeout    time.Duration // --job-timeout, the old name of --timeout, read once in RunE
	dependsOn     []string
	jobID         string
	resultTTL     time.Duration
	wait          bool
	waitTimeout   time.Duration
	file          string
	flow          enqueueFlowFlags
}

func (a *app) enqueueCommand() *cobra.Command {
	var f enqueueFlags
	cmd := &cobra.Command{
		Use:   "enqueue (NAME | --file FILE)",
		Short: "Enqueue a job, or many from a file",
		Long: `Enqueue a job named NAME (the handler's name; Python workers use
"module:function") on --queue, and print its id.

--timeout limits one attempt of the job; --request-timeout is how long naq
waits for the server. A --job-id enqueued within the last 2 minutes enqueues
nothing new: naq says so on stderr (and "duplicate": true with --json), and the
first job's arguments and options stand.

--file enqueues every line of a JSON-lines file (- for stdin), in bulk: each
line is an object {"name": "tasks:f", "args": [...], "kwargs": {...}} that may
also set "queue", "job_id", "max_retries", "timeout" (a Go duration) and
"depends_on"; the other flags give the defaults. Every line is checked before
any job is sent: a bad line is reported with its number and nothing is sent.

--args is a JSON array of positional arguments, --kwargs a JSON object of
keyword arguments. --in or --at delay the job: the server holds it and
releases it on time. --at takes an RFC 3339 time with a zone (Z or an offset).

With --wait, naq waits for the job to finish and prints its result (with
--json, the whole result record); it exits 1 if the job failed or was
cancelled. Durations are Go durations (1m30s); --retry-delay also takes a
list, one delay per retry, the last repeating.`,
		Example: `  naq enqueue tasks:count_words --kwargs '{"text": "the quick brown fox"}' --wait
  naq enqueue mail:send --args '["ana@example.com"]' --retries 5 --retry-delay 1s --retry-strategy exponential
  naq enqueue report:build -q reports --at 2030-01-02T08:00:00Z
  naq enqueue cleanup --in 10m --job-id cleanup-2030-01-02
  naq enqueue mail:send --file mails.jsonl --retries 3`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("job-timeout") {
				if cmd.Flags().Changed("timeout") {
					return usagef("--job-timeout is the old name of --timeout: give one")
				}
				f.jobTimeout = f.oldTimeout
				fmt.Fprintln(a.stderr, "naq: --job-timeout is now --timeout (the request timeout is --request-timeout)")
			}
			switch {
			case f.file != "" && len(args) > 0:
				return usagef("give a job NAME or --file, not both")
			case f.file != "" && f.flow.isUnique():
				return usagef("--unique, --unique-key and --unique-for go with one job NAME, not --file: unique jobs are enqueued one by one")
			case f.file != "":
				return a.runEnqueueFile(cmd, f)
			case len(args) == 0:
				return usagef("naq enqueue needs a job NAME (or --file FILE)")
			}
			return a.runEnqueue(cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.args, "args", "", "positional arguments, a JSON array")
	fl.StringVar(&f.kwargs, "kwargs", "", "keyword arguments, a JSON object")
	fl.DurationVar(&f.in, "in", 0, "run the job after this delay")
	fl.StringVar(&f.at, "at", "", "run the job at this RFC 3339 time (2030-01-02T08:00:00Z)")
	fl.IntVar(&f.retries, "retries", 0, "retries after the first attempt")
	fl.StringVar(&f.retryDelay, "retry-delay", "", "delay before a retry, or one per retry: 1s,10s,1m")
	fl.StringVar(&f.retryStrategy, "retry-strategy", "linear", "linear or exponential (doubles a single --retry-delay each time)")
	fl.StringSliceVar(&f.retryOn, "retry-on", nil, "retry only errors of these kinds (e.g. http:5xx)")
	fl.StringSliceVar(&f.ignoreOn, "ignore-on", nil, "never retry errors of these kinds")
	fl.DurationVar(&f.jobTimeout, "timeout", 0, "limit of one attempt of the job (default: none)")
	fl.DurationVar(&f.oldTimeout, "job-timeout", 0, "old name of --timeout")
	_ = fl.MarkHidden("job-timeout")
	fl.StringSliceVar(&f.dependsOn, "depends-on", nil, "run only after these jobs completed (ids; repeat or comma-separate)")
	fl.StringVar(&f.jobID, "job-id", "", "the job's id (default: random); the same id within 2 minutes enqueues nothing new")
	fl.DurationVar(&f.resultTTL, "result-ttl", 0, "how long the result is kept (default 7 days)")
	fl.BoolVar(&f.wait, "wait", false, "wait for the job to finish and print its result")
	fl.DurationVar(&f.waitTimeout, "wait-timeout", 0, "with --wait, give up after this long (default: no limit)")
	fl.StringVar(&f.file, "file", "", "enqueue every line of this JSON-lines file (- for stdin)")
	f.flow.register(fl)
	return cmd
}

func (a *app) runEnqueue(cmd *cobra.Command, name string, f enqueueFlags) error {
	job, runAt, err := a.buildJob(cmd, name, f)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	c, nc, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer nc.Close()
	rctx, cancel := a.withTimeout(ctx)
	if runAt.IsZero() {
		err = c.EnqueueJob(rctx, job)
	} else {
		err = c.EnqueueJobAt(rctx, runAt, job)
	}
	cancel()
	if err != nil {
		if errors.Is(err, naq.ErrInvalidJob) || errors.Is(err, naq.ErrInvalidQueue) || errors.Is(err, naq.ErrInvalidArgs) {
			return usagef("%v", err)
		}
		return err
	}
	if job.Duplicate && job.Flow != nil && job.Flow.UniqueKey != "" {
		fmt.Fprintf(a.stderr, "naq: job %s holds this unique key: nothing new was enqueued\n", job.ID)
	} else if job.Duplicate {
		fmt.Fprintf(a.stderr, "naq: job %s was already enqueued in the last %s: nothing new was enqueued, and these arguments and options were discarded\n",
			job.ID, layout.DuplicateWindow)
	}
	if f.wait {
		if runAt.IsZero() {
			a.warnNoWorker(ctx, c, job.Queue)
		}
		return a.waitAndPrint(ctx, c, job.ID, job.Queue, f.waitTimeout, true)
	}
	if !a.jsonOut {
		_, err := fmt.Fprintln(a.stdout, job.ID)
		return err
	}
	wire, err := job.Encode()
	if err != nil {
		return err
	}
	out := enqueuedJob{JobID: job.ID, Function: job.Name, Queue: job.Queue, Duplicate: job.Duplicate, Job: wire}
	if !runAt.IsZero() {
		out.RunAt = runAt.UTC()
	}
	return a.printJSON(out)
}

// enqueuedJob is what `naq enqueue --json` prints.
type enqueuedJob struct {
	JobID     string          `json:"job_id"`
	Function  string          `json:"function"`
	Queue     string          `json:"queue_name"`
	RunAt     time.Time       `json:"run_at,omitzero"`
	Duplicate bool            `json:"duplicate"` // nothing new was enqueued: the id was taken
	Job       json.RawMessage `json:"job"`       // the wire JSON, as stored (for a duplicate, the one refused)
}

// buildJob checks the flags and builds the job without a server; any error
// is a usage error. runAt is zero for a job that runs now.
func (a *app) buildJob(cmd *cobra.Command, name string, f enqueueFlags) (*naq.Job, time.Time, error) {
	var runAt time.Time
	if strings.TrimSpace(name) == "" {
		return nil, runAt, usagef("the job name must not be empty")
	}
	args, err := jsonArgsFlag(f.args)
	if err != nil {
		return nil, runAt, err
	}
	kwargs, err := jsonKwargsFlag(f.kwargs)
	if err != nil {
		return nil, runAt, err
	}
	switch {
	case cmd.Flags().Changed("in") && cmd.Flags().Changed("at"):
		return nil, runAt, usagef("--in and --at cannot be used together")
	case cmd.Flags().Changed("in"):
		if f.in < 0 {
			return nil, runAt, usagef("--in %s must not be negative", f.in)
		}
		runAt = time.Now().Add(f.in)
		if h := layout.Horizon(); runAt.After(h) {
			return nil, runAt, usagef("--in %s ends after %s, the latest time the server can schedule", f.in, h.Format(time.RFC3339))
		}
	case f.at != "":
		if runAt, err = parseRunAt(f.at); err != nil {
			return nil, runAt, err
		}
	}
	if f.waitTimeout < 0 {
		return nil, runAt, usagef("--wait-timeout %s must not be negative", f.waitTimeout)
	}
	if cmd.Flags().Changed("wait-timeout") && !f.wait {
		return nil, runAt, usagef("--wait-timeout goes with --wait")
	}
	if f.jobTimeout < 0 {
		return nil, runAt, usagef("--timeout %s must not be negative", f.jobTimeout)
	}
	opts := []naq.EnqueueOption{naq.Queue(a.queue), naq.MaxRetries(f.retries), naq.WithRetryStrategy(naq.RetryStrategy(f.retryStrategy))}
	if f.retryDelay != "" {
		delays, err := parseRetryDelays(f.retryDelay)
		if err != nil {
			return nil, runAt, err
		}
		opts = append(opts, naq.RetryDelay(delays...))
	}
	if len(f.retryOn) > 0 {
		opts = append(opts, naq.RetryOn(f.retryOn...))
	}
	if len(f.ignoreOn) > 0 {
		opts = append(opts, naq.IgnoreOn(f.ignoreOn...))
	}
	if f.jobTimeout != 0 {
		opts = append(opts, naq.Timeout(f.jobTimeout))
	}
	if len(f.dependsOn) > 0 {
		opts = append(opts, naq.DependsOn(f.dependsOn...))
	}
	if f.jobID != "" {
		opts = append(opts, naq.JobID(f.jobID))
	}
	if cmd.Flags().Changed("result-ttl") {
		opts = append(opts, naq.ResultTTL(f.resultTTL))
	}
	flowOpts, err := f.flow.options()
	if err != nil {
		return nil, runAt, err
	}
	job, err := naq.NewJob(name, nil, append(opts, flowOpts...)...)
	if err != nil {
		return nil, runAt, usagef("%v", err)
	}
	job.Args, job.Kwargs = args, kwargs
	return job, runAt, nil
}

// jsonArgsFlag parses --args: a JSON array, each element one positional
// argument.
func jsonArgsFlag(s string) ([]json.RawMessage, error) {
	out := []json.RawMessage{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	if err := json.Unmarshal([]byte(s), &out); err != nil || out == nil {
		return nil, usagef("--args must be a JSON array, such as '[1, \"two\"]': %s", jsonFlagProblem(s, err))
	}
	for i, v := range out {
		out[i] = compactJSON(v)
	}
	return out, nil
}

// jsonKwargsFlag parses --kwargs: a JSON object of keyword arguments.
func jsonKwargsFlag(s string) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
		return nil, usagef("--kwargs must be a JSON object, such as '{\"to\": \"ana\"}': %s", jsonFlagProblem(s, err))
	}
	for k, v := range m {
		out[k] = compactJSON(v)
	}
	return out, nil
}

func jsonFlagProblem(s string, err error) string {
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return "got null"
	case errors.As(err, &te):
		return "got a JSON " + te.Value
	}
	return fmt.Sprintf("%q is not valid JSON (%v)", s, err)
}

func compactJSON(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}

// parseRunAt parses --at: RFC 3339 with a zone. A time without one is refused
// rather than guessed.
func parseRunAt(s string) (time.Time, error) {
	v := strings.TrimSpace(s)
	if len(v) > 10 && v[10] == ' ' {
		v = v[:10] + "T" + v[11:]
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		if h := layout.Horizon(); t.After(h) {
			return time.Time{}, usagef("--at %q is after %s, the latest time the server can schedule", s, h.Format(time.RFC3339))
		}
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return time.Time{}, usagef("--at %q has no time zone: add Z for UTC or an offset such as +02:00 (%s)", s, t.Format(time.RFC3339Nano))
		}
	}
	return time.Time{}, usagef("--at %q is not an RFC 3339 time such as 2030-01-02T08:00:00Z", s)
}

// parseRetryDelays parses --retry-delay: comma-separated Go durations, or
// plain numbers of seconds as Python naq writes them.
func parseRetryDelays(s string) ([]time.Duration, error) {
	var out []time.Duration
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		d, err := time.ParseDuration(part)
		if err != nil {
			secs, ferr := strconv.ParseFloat(part, 64)
			if ferr != nil || secs < 0 || secs > 1e9 {
				return nil, usagef("--retry-delay %q: %q is not a duration such as 500ms, 10s or 1m", s, part)
			}
			d = time.Duration(secs * float64(time.Second))
		}
		if d < 0 {
			return nil, usagef("--retry-delay %q: %s must not be negative", s, d)
		}
		out = append(out, d)
	}
	return out, nil
}

// waitAndPrint waits for the job's result (at most limit, 0: no limit) and
// prints it; a failed or cancelled job is an error (exit 1). withID prints the
// job id first (enqueue --wait, without --json). queue, when known, lets a
// timeout say whether any worker serves the job's queue.
func (a *app) waitAndPrint(ctx context.Context, c *naq.Client, id, queue string, limit time.Duration, withID bool) error {
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	if withID && !a.jsonOut {
		if _, err := fmt.Fprintln(a.stdout, id); err != nil {
			return err
		}
	}
	res, err := c.Wait(ctx, id)
	if res == nil {
		switch {
		case errors.Is(err, context.DeadlineExceeded) && limit > 0:
			if hint := a.workerHint(context.WithoutCancel(ctx), c, queue); hint != "" {
				return fmt.Errorf("job %s has not finished after %s: %s", id, limit, hint)
			}
			return fmt.Errorf("job %s has not finished after %s", id, limit)
		case errors.Is(err, naq.ErrInvalidJob):
			return usagef("%v", err)
		}
		return err
	}
	return a.printResult(res)
}
