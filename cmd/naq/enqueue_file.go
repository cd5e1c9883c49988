package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/naqgo/naq"
	"github.com/naqgo/naq/internal/layout"
)

// fileJob is one line of `naq enqueue --file`. Unknown keys are refused, so a
// misspelt option is not silently dropped.
type fileJob struct {
	Name       string          `json:"name"`
	Function   string          `json:"function"` // Python naq's word for the name
	Args       json.RawMessage `json:"args"`
	Kwargs     json.RawMessage `json:"kwargs"`
	Queue      string          `json:"queue"`
	JobID      string          `json:"job_id"`
	MaxRetries *int            `json:"max_retries"`
	Timeout    string          `json:"timeout"`
	DependsOn  []string        `json:"depends_on"`
}

// fileChunk is how many jobs go to the server in one EnqueueMany call: the
// progress bar moves once per chunk.
const fileChunk = 500

func (a *app) runEnqueueFile(cmd *cobra.Command, f enqueueFlags) error {
	for _, name := range []string{"in", "at", "wait", "wait-timeout", "job-id", "args", "kwargs"} {
		if cmd.Flags().Changed(name) {
			return usagef("--%s does not go with --file (set per-job values in the file's lines)", name)
		}
	}
	// The flags are the defaults of every line: checked once, without a name.
	if _, _, err := a.buildJob(cmd, "defaults", f); err != nil {
		return err
	}
	in, closeIn, err := a.openJobsFile(f.file)
	if err != nil {
		return err
	}
	defer closeIn()
	jobs, err := a.readJobsFile(cmd, in, f)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	c, nc, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer nc.Close()
	// Sizes need the server's limit: still checked before anything is sent.
	for i, j := range jobs {
		data, err := j.Encode()
		if err != nil {
			return usagef("%s: job %d: %v (nothing was enqueued)", f.file, i+1, err)
		}
		if max := nc.MaxPayload(); int64(len(data)+len(j.ID)+192) > max {
			return usagef("%s: job %d (%s) is %d bytes, the server takes at most %d (nothing was enqueued)", f.file, i+1, j.ID, len(data), max)
		}
	}
	step, finish := a.progress("enqueueing", len(jobs))
	sent := 0
	for sent < len(jobs) {
		chunk := jobs[sent:min(sent+fileChunk, len(jobs))]
		rctx, cancel := a.withTimeout(ctx)
		err := c.EnqueueMany(rctx, chunk)
		cancel()
		if err != nil {
			finish()
			var be *naq.BulkError
			if errors.As(err, &be) {
				sent += be.Enqueued
			}
			return fmt.Errorf("enqueued %d of %d jobs from %s, then: %w (enqueueing the file again is safe for lines with a job_id)",
				sent, len(jobs), f.file, err)
		}
		sent += len(chunk)
		step(sent)
	}
	finish()
	return a.show(map[string]any{"file": f.file, "enqueued": sent}, func() error {
		_, err := fmt.Fprintf(a.stdout, "enqueued %d jobs from %s\n", sent, f.file)
		return err
	})
}

func (a *app) openJobsFile(name string) (io.Reader, func(), error) {
	if name == "-" {
		return a.stdin, func() {}, nil
	}
	fh, err := os.Open(name)
	if err != nil {
		return nil, nil, usagef("--file: %v", err)
	}
	return fh, func() { fh.Close() }, nil
}

// readJobsFile parses and checks every line; the first bad one fails the
// whole file, with its line number.
func (a *app) readJobsFile(cmd *cobra.Command, in io.Reader, f enqueueFlags) ([]*naq.Job, error) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 64*1024*1024)
	var jobs []*naq.Job
	seen := map[string]int{}
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		j, err := a.lineJob(cmd, line, f)
		if err != nil {
			return nil, usagef("%s line %d: %v (nothing was enqueued)", f.file, n, err)
		}
		if first, dup := seen[j.ID]; dup {
			return nil, usagef("%s line %d: job_id %s is already on line %d (nothing was enqueued)", f.file, n, j.ID, first)
		}
		seen[j.ID] = n
		jobs = append(jobs, j)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w (nothing was enqueued)", f.file, err)
	}
	if len(jobs) == 0 {
		return nil, usagef("%s has no jobs (nothing was enqueued)", f.file)
	}
	return jobs, nil
}

// lineJob builds the job of one line over the flags' defaults.
func (a *app) lineJob(cmd *cobra.Command, line []byte, f enqueueFlags) (*naq.Job, error) {
	var fj fileJob
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fj); err != nil {
		return nil, fmt.Errorf("not a job object: %v", err)
	}
	if dec.More() {
		return nil, errors.New("more than one JSON value on the line")
	}
	name := strings.TrimSpace(fj.Name)
	switch {
	case name == "" && fj.Function != "":
		name = fj.Function
	case name != "" && fj.Function != "" && fj.Function != name:
		return nil, errors.New(`"name" and "function" differ: give one`)
	case name == "":
		return nil, errors.New(`no "name"`)
	}
	lf := f
	lf.args, lf.kwargs, lf.jobID = string(fj.Args), string(fj.Kwargs), fj.JobID
	if fj.MaxRetries != nil {
		lf.retries = *fj.MaxRetries
	}
	if fj.Timeout != "" {
		d, err := time.ParseDuration(fj.Timeout)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("timeout %q is not a duration such as 30s", fj.Timeout)
		}
		lf.jobTimeout = d
	}
	if fj.DependsOn != nil {
		lf.dependsOn = fj.DependsOn
	}
	j, _, err := a.buildJob(cmd, name, lf)
	if err != nil {
		msg := strings.NewReplacer("--args", "args", "--kwargs", "kwargs", "--job-id", "job_id").Replace(err.Error())
		return nil, errors.New(strings.TrimPrefix(msg, "naq: "))
	}
	if fj.Queue != "" {
		if err := layout.ValidateQueue(fj.Queue); err != nil {
			return nil, err
		}
		j.Queue = fj.Queue
	}
	return j, nil
}
