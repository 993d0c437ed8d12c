"""What the public sees of one statement or document, shared by the badge, the embed,
oEmbed and ClaimReview: its read (service, repository, schemas), the public response
with its ETag and Cache-Control (responses), and verdict labels and colours
(presentation)."""
