"""Understanding and answering borrowers (built in the conversation-engine issue)."""
