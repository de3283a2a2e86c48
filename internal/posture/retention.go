package posture

import (
	"fmt"
	"time"
)

// Microsoft Entra keeps sign-in and audit logs for Graph to read 30 days
// with Entra ID P1 or P2, 7 days without (Microsoft Learn, "Microsoft Entra
// data retention", learn.microsoft.com/entra/identity/monitoring-health/
// reference-reports-data-retention: "Audit logs: Free 7 days, P1/P2 30
// days; Sign-in logs: Free 7 days, P1/P2 30 days").
const (
	retainPremium = 30 * 24 * time.Hour
	retainFree    = 7 * 24 * time.Hour
)

// Retained returns where the tenant's logs begin for a read at now of the
// events since, and, when since is older than that, a sentence naming the
// days no log can show (so a "no sign-in since" never covers days Graph no
// longer keeps). premium is whether the tenant has Entra ID P1 or P2; when
// not known, say false: the shorter retention claims less.
func Retained(since, now time.Time, premium bool) (time.Time, string) {
	keep, plan := retainFree, "7 days without Entra ID P1/P2"
	if premium {
		keep, plan = retainPremium, "30 days with Entra ID P1/P2"
	}
	from := now.Add(-keep)
	if !since.Before(from) {
		return since, ""
	}
	return from, fmt.Sprintf("%s to %s could not be checked: Graph keeps these logs %s "+
		"(Microsoft Entra data retention); read them where the tenant keeps them longer (Log Analytics)",
		since.UTC().Format(time.RFC3339), from.UTC().Format(time.RFC3339), plan)
}
