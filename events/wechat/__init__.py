"""WeChat callbacks: Official Account push (E3) and WeChat Pay v3 notifications (E4).

Each module does one step: `signature` and `crypto` check and open what WeChat sends,
`push` and `pay` turn it into ingest rows, `views` are the thin HTTP adapters.
"""
