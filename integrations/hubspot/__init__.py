"""HubSpot CRM adapter: companies, contacts, deals, tickets, comments and feedback over hubspot-api-client."""
