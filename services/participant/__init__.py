"""What a participant does, step by step: join, interview, card, vote, judge, survey and receipt."""
