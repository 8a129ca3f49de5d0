"""Violence-type, actor and place tagging of Spanish news articles."""
