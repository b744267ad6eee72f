"""The mailer and its templates: a kernel service every package may use to send mail,
importing no domain package itself. What a mail says lives beside the flow that
sends it (`identity.accounts`, `organizations.mail`); the wording is in `templates/`.
"""
