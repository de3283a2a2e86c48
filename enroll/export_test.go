package enroll

// CheckAccess lets the external tests judge the access check on its own,
// before any sign-in writes: it is not part of the package's API.
var CheckAccess = checkAccess

// CredentialIDs lets the external tests decode excludeCredentials ids in
// each documented form.
var CredentialIDs = credentialIDs
