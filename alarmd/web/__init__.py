"""The web page: alarms seen and set from a phone, served by the daemon beside the API.

Server-rendered (Jinja2 templates, plain forms that redirect), over the same AlarmService
façade the API calls; a browser signs in with the API token or a one-time link and then
holds a revocable session cookie. alarmd.daemon mounts it beside alarmd.api.
"""
