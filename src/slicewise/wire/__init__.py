"""Wire formats: pure translation between each protocol's JSON and ``slicewise.chat``.

No I/O here. Each protocol has two sides::

    client  --body-->  parse_request      --ChatRequest-->   build_request    --body-->  upstream
    client  <-bytes--  render_response    <-ChatResponse--   parse_response   <-JSON---  upstream
    client  <-SSE----  OpenAIStream /     <-StreamEvent---   OpenAIStreamReader /  <-SSE-- upstream
                       AnthropicStream                       AnthropicStreamReader

``slicewise.wire.openai`` and ``slicewise.wire.anthropic`` hold the public names of each
protocol; the modules beside them (``*_request``, ``*_stream``) are their parts. ``fields``
validates client bodies (``RequestError``), ``shape`` reads upstream ones (``UpstreamProtocol``),
``stops`` maps finish reasons, and ``sse`` splits a byte stream into server-sent events.
"""
