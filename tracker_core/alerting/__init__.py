"""Alert delivery: Slack (Block Kit through slack-sdk) and email (through resend)."""
