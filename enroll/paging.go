package enroll

import (
	"context"
	"fmt"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/serialization"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
)

// Graph pages its collections with @odata.nextLink (transitiveMemberOf 100
// items a page by default, sign-ins, audits, policies, role assignments and
// schedules, methods): a read that stopped at the first page would judge an
// account by part of its groups or policies. Every collection is read to
// its last page through the SDK's own PageIterator, bounded: a collection
// past the bound is an error, never a partial answer.
const (
	defaultMaxPages = 500
	maxItems        = 100_000
)

// pageLimiter is the request adapter the PageIterator fetches next pages
// through: it counts them and refuses one past the bound (an answer whose
// nextLink never ends, or ends past any real tenant's size).
type pageLimiter struct {
	abs.RequestAdapter
	pages, limit int
	what         string
}

// Send implements abs.RequestAdapter, counting pages.
func (p *pageLimiter) Send(ctx context.Context, ri *abs.RequestInformation, f serialization.ParsableFactory,
	em abs.ErrorMappings) (serialization.Parsable, error) {
	p.pages++
	if p.pages >= p.limit {
		return nil, fmt.Errorf(
			"%s: the answer runs past %d pages: stopped rather than judge on part of it",
			p.what,
			p.limit,
		)
	}
	return p.RequestAdapter.Send(ctx, ri, f, em)
}

// eachItem calls each for every item of a collection answer first and of
// all the pages its nextLinks lead to.
func eachItem[T any](ctx context.Context, c *Client, what string, first serialization.Parsable,
	factory serialization.ParsableFactory, each func(T)) error {
	if first == nil {
		return fmt.Errorf("%s: empty answer", what)
	}
	limiter := &pageLimiter{RequestAdapter: c.adapter, limit: c.opts.MaxPages, what: what}
	it, err := msgraphcore.NewPageIterator[T](first, limiter, factory)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n := 0
	err = it.Iterate(ctx, func(item T) bool {
		if n++; n > maxItems {
			return false
		}
		each(item)
		return true
	})
	if err != nil {
		return err
	}
	if n > maxItems {
		return fmt.Errorf("%s: more than %d items: stopped rather than judge on part of them", what, maxItems)
	}
	return nil
}
