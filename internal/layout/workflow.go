package layout

// WorkflowsBucket holds naq-go's workflow records (key = workflow id): the
// steps of each workflow, so its state can be read back. Python naq has no
// workflows and never reads it.
const WorkflowsBucket = "naq_workflows"

// DependentsBucket indexes plain depends_on dependencies the other way:
// key = "<dependency id>.<dependent id>", value = the dependent's function
// name, so the jobs that wait for a job can be listed without reading any
// job. Python naq never reads it.
const DependentsBucket = "naq_dependents"

// DependentKey is the key that says dependent waits for dependency.
func DependentKey(dependency, dependent string) string { return dependency + "." + dependent }

// DependentSubject is the subject a write of DependentKey goes to.
func DependentSubject(dependency, dependent string) string {
	return "$KV." + DependentsBucket + "." + dependency + "." + dependent
}
