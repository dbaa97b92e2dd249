"""HTTP views: one blueprint per module, each named like the service in ``webapp/services`` it calls.

A view parses the request, calls a service and renders (or redirects); no rule or scoring lives here.
"""
