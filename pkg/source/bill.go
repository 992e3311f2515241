package source

// BillLine is a line of a provider's own bill (its cost API): what it
// charged for a stretch of time (a UTC day, usually), for a project, a
// model or a line item as the bill groups it. Bills are kept beside the
// usage, not in it: `usage reconcile --against` sets them against what
// the usage costs by the price book.
type BillLine struct {
	ID       string // from the bill's own key: importing it twice stores it once
	Provider string // openai, anthropic
	Start    int64  // Unix ns, UTC
	End      int64
	Project  string // "" when the bill is not grouped by project
	Model    string // "" when the bill does not name one
	Item     string // the line item or description, "" when none
	Amount   USD
}
