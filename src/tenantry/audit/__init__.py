from tenantry.audit.service import record

__all__ = ["record"]
