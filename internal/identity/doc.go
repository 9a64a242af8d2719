// Package identity owns the business rules of authd's principals: the
// organisation network (a tree whose node types are data), back-office
// users and their memberships (a membership grants its organisation and
// everything below it), password sign-in with rate limits and no account
// enumeration, and contacts with their identities.
package identity
