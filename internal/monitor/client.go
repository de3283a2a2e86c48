package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/azquery"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/monitor/armmonitor"
)

// API versions of the hand-written requests.
const (
	aadiamAPI    = "2017-04-01"         // Microsoft.Aadiam stable/2017-04-01 (azure-rest-api-specs)
	workspaceAPI = "2022-10-01"         // Microsoft.OperationalInsights stable/2022-10-01
	alertsAPI    = "2019-05-05-preview" // Microsoft.AlertsManagement preview/2019-05-05-preview
)

// Endpoints says where ARM and the Log Analytics query API are (empty:
// Azure public cloud) and which HTTP client carries the requests (the
// emulator's trusted certificate).
type Endpoints struct {
	ARM        string
	Logs       string // the query API's base, ending in /v1
	HTTPClient *http.Client
}

// Client reads and writes the monitoring resources: armmonitor's clients
// for alert rules and action groups, azquery's LogsClient for queries, and
// azcore's own ARM pipeline for what no module served to this project
// covers (Entra's diagnostic settings, the workspace, Alerts Management).
type Client struct {
	subscription string
	rules        *armmonitor.ScheduledQueryRulesClient
	groups       *armmonitor.ActionGroupsClient
	logs         *azquery.LogsClient
	arm          *arm.Client
}

// NewClient returns a Client for subscription signed in with cred.
func NewClient(cred azcore.TokenCredential, subscription string, ep Endpoints) (*Client, error) {
	if subscription == "" {
		return nil, errors.New("monitoring: no subscription (monitoring.subscription in the config)")
	}
	armCloud := cloud.AzurePublic
	logsCloud := cloud.AzurePublic
	if ep.ARM != "" {
		armCloud = cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: ep.ARM, Audience: "https://management.azure.com"}}}
	}
	if ep.Logs != "" {
		logsCloud = cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			azquery.ServiceNameLogs: {Endpoint: ep.Logs, Audience: "https://api.loganalytics.io"}}}
	}
	base := policy.ClientOptions{Cloud: armCloud}
	if ep.HTTPClient != nil {
		base.Transport = ep.HTTPClient
	}
	opts := &arm.ClientOptions{ClientOptions: base}
	c := &Client{subscription: subscription}
	var err error
	if c.rules, err = armmonitor.NewScheduledQueryRulesClient(subscription, cred, opts); err != nil {
		return nil, fmt.Errorf("monitoring: alert rules client: %w", err)
	}
	if c.groups, err = armmonitor.NewActionGroupsClient(subscription, cred, opts); err != nil {
		return nil, fmt.Errorf("monitoring: action groups client: %w", err)
	}
	if c.arm, err = arm.NewClient("keyceremony/monitor", "v1.0.0", cred, opts); err != nil {
		return nil, fmt.Errorf("monitoring: ARM client: %w", err)
	}
	lo := &azquery.LogsClientOptions{ClientOptions: base}
	lo.Cloud = logsCloud
	if c.logs, err = azquery.NewLogsClient(cred, lo); err != nil {
		return nil, fmt.Errorf("monitoring: logs client: %w", err)
	}
	return c, nil
}

// do sends one hand-written ARM request through azcore's ARM pipeline
// (bearer token, retries, logging), because the modules that would cover
// it (armoperationalinsights, armalertsmanagement; none for
// microsoft.aadiam) are not served to this project. A status other than
// 200/201 becomes an *azcore.ResponseError.
func (c *Client) do(ctx context.Context, method, path, apiVersion string, query url.Values, body, out any) error {
	u := runtime.JoinPaths(c.arm.Endpoint(), path)
	if len(path) > 8 && (path[:8] == "https://") { // a nextLink
		u = path
	}
	req, err := runtime.NewRequest(ctx, method, u)
	if err != nil {
		return err
	}
	q := req.Raw().URL.Query()
	if q.Get("api-version") == "" {
		q.Set("api-version", apiVersion)
	}
	for k, v := range query {
		q[k] = v
	}
	req.Raw().URL.RawQuery = q.Encode()
	if body != nil {
		if err := runtime.MarshalAsJSON(req, body); err != nil {
			return err
		}
	}
	resp, err := c.arm.Pipeline().Do(req)
	if err != nil {
		return err
	}
	if !runtime.HasStatusCode(resp, http.StatusOK, http.StatusCreated) {
		return runtime.NewResponseError(resp)
	}
	if out == nil {
		return nil
	}
	return runtime.UnmarshalAsJSON(resp, out)
}

// putLRO sends a PUT ARM runs as a long-running operation and polls it to
// its end with azcore's own poller (Azure-AsyncOperation or Location).
func (c *Client) putLRO(ctx context.Context, path, apiVersion string, body any) error {
	req, err := runtime.NewRequest(ctx, http.MethodPut, runtime.JoinPaths(c.arm.Endpoint(), path))
	if err != nil {
		return err
	}
	q := req.Raw().URL.Query()
	q.Set("api-version", apiVersion)
	req.Raw().URL.RawQuery = q.Encode()
	if err := runtime.MarshalAsJSON(req, body); err != nil {
		return err
	}
	resp, err := c.arm.Pipeline().Do(req)
	if err != nil {
		return err
	}
	if !runtime.HasStatusCode(resp, http.StatusOK, http.StatusCreated, http.StatusAccepted) {
		return runtime.NewResponseError(resp)
	}
	poller, err := runtime.NewPoller[json.RawMessage](resp, c.arm.Pipeline(), nil)
	if err != nil {
		return err
	}
	_, err = poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: time.Second})
	return err
}

// diagSetting is Entra's diagnostic setting (Azure/azure-rest-api-specs,
// specification/azureactivedirectory/resource-manager/Microsoft.Aadiam/
// stable/2017-04-01/examples/getDiagnosticSetting.json).
type diagSetting struct {
	ID         string `json:"id,omitempty"`
	Name       string `json:"name,omitempty"`
	Properties struct {
		WorkspaceID string `json:"workspaceId"`
		Logs        []struct {
			Category string `json:"category"`
			Enabled  bool   `json:"enabled"`
		} `json:"logs"`
	} `json:"properties"`
}

func (c *Client) diagnosticSettings(ctx context.Context) ([]diagSetting, error) {
	var page struct {
		Value []diagSetting `json:"value"`
	}
	err := c.do(ctx, http.MethodGet, "/providers/microsoft.aadiam/diagnosticSettings", aadiamAPI, nil, nil, &page)
	if err != nil {
		return nil, fmt.Errorf("Entra diagnostic settings: %w", err)
	}
	return page.Value, nil
}

type workspace struct {
	ID         string `json:"id"`
	Properties struct {
		CustomerID      string `json:"customerId"`
		RetentionInDays int    `json:"retentionInDays"`
	} `json:"properties"`
}

func (c *Client) workspace(ctx context.Context, id string) (*workspace, error) {
	var ws workspace
	if err := c.do(ctx, http.MethodGet, id, workspaceAPI, nil, nil, &ws); err != nil {
		return nil, fmt.Errorf("workspace %s: %w", id, err)
	}
	return &ws, nil
}

type alertItem struct {
	Properties struct {
		Essentials struct {
			AlertRule        string `json:"alertRule"`
			StartDateTime    string `json:"startDateTime"`
			MonitorCondition string `json:"monitorCondition"`
		} `json:"essentials"`
	} `json:"properties"`
}

// alerts lists the alerts ruleID fired in the time range, every page.
func (c *Client) alerts(ctx context.Context, ruleID, timeRange string) ([]alertItem, error) {
	path := "/subscriptions/" + c.subscription + "/providers/Microsoft.AlertsManagement/alerts"
	q := url.Values{"alertRule": {ruleID}, "customTimeRange": {timeRange}}
	var all []alertItem
	for range 1000 {
		var page struct {
			Value    []alertItem `json:"value"`
			NextLink string      `json:"nextLink"`
		}
		if err := c.do(ctx, http.MethodGet, path, alertsAPI, q, nil, &page); err != nil {
			return nil, fmt.Errorf("fired alerts: %w", err)
		}
		all = append(all, page.Value...)
		if page.NextLink == "" {
			return all, nil
		}
		path, q = page.NextLink, nil
	}
	return nil, errors.New("fired alerts: more than 1000 pages")
}

// decode is for tests and dry runs: the JSON an ARM body marshals to.
func decode(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
