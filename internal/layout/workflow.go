package layout

// WorkflowsBucket holds naq-go's workflow records (key = workflow id): the
// steps of each workflow, so its state can be read back. Python naq has no
// workflows and never reads it.
const WorkflowsBucket = "naq_workflows"
