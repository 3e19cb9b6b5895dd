"""The domain ⇄ the wire (``paysim.v1``): one conversion each way, shared by the servicers and the
webhook bodies. It knows the domain and the generated messages, nothing above them."""
