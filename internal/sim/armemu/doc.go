// Package armemu is an emulated Azure Resource Manager and Log Analytics
// query endpoint for the monitoring audit and set-up: Entra's tenant-level
// diagnostic settings (microsoft.aadiam), a Log Analytics workspace, log
// search alert rules (Microsoft.Insights/scheduledQueryRules), action groups,
// Alerts Management's fired alerts, and a query endpoint that runs a rule's
// KQL on its own SigninLogs table. Answers and errors follow the shapes of
// the examples in Azure/azure-rest-api-specs (each cited beside the handler).
// Tests and rehearsals only.
package armemu
