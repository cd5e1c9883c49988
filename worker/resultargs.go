package worker

// WithResultArgs keeps each job's arguments in its result record (fields
// "args" and "kwargs", which Python naq's readers ignore), so a finished
// job's arguments can still be read: naq.Result.Args and Kwargs, the
// dashboard's job page, 'naq job result --json'. A job's message, and its
// arguments with it, is gone once the job finishes; without this option
// only a failed job's record keeps them. It costs each result record the
// size of its job's arguments; arguments that would not fit beside the
// result in one record are left out. Arguments may hold personal data:
// results are kept as long as their TTL (7 days by default).
func WithResultArgs() Option { return field(func(c *Config) { c.ResultArgs = true }) }
