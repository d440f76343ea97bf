"""Zoho CRM: OAuth tokens, the Update Records call, and what Zoho's answers mean."""
