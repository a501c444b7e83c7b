# Background workers arrive with the order flow.
