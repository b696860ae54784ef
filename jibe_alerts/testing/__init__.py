"""Real local stand-ins used by the tests, the benchmarks and the demo.

Nothing here is a mock: the Slack stand-in is an HTTP server that speaks Slack's Web API to the
real ``slack_sdk`` client, and the Redis helpers start real ``redis-server`` processes.
"""
