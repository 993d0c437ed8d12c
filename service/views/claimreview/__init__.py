"""ClaimReview: schema.org JSON-LD of a current published verdict, for search engines."""
