package enroll

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// CheckAccess lets the external tests judge the access check on its own,
// before any sign-in writes: it is not part of the package's API.
func CheckAccess(ctx context.Context, cred azcore.TokenCredential) (*access, error) {
	return checkAccess(ctx, cred, graphScope)
}

// ErrNoNetwork lets the external tests recognise a sign-in that could not
// reach Entra ID (errNoNetwork).
var ErrNoNetwork = errNoNetwork

// CredentialIDs lets the external tests decode excludeCredentials ids in
// each documented form.
var CredentialIDs = credentialIDs
