"""The phrase tables support mail is composed from: the tenant, features, errors, topics per group
(subjects and problem statements), greetings, tone sentences, closings, agent replies, survey comments.
"""

from __future__ import annotations

VENDOR_NAME = "Northpeak"  # the tenant: the SaaS company whose customers the book holds
VENDOR_DOMAIN = "northpeak.io"

FEATURES = (
    "dashboard",
    "reports export",
    "SSO login",
    "REST API",
    "webhooks",
    "CSV import",
    "mobile app",
    "notifications",
    "billing portal",
    "user provisioning",
    "Slack integration",
    "Salesforce sync",
    "audit log",
    "permissions",
    "scheduled reports",
    "search",
    "calendar sync",
    "custom fields",
    "data retention settings",
    "workflow automation",
    "PDF export",
    "two-factor authentication",
)
ERRORS = (
    "500 Internal Server Error",
    "403 Forbidden",
    "a blank page",
    "a spinning loader",
    "error E-1042",
    '"Something went wrong"',
    "a timeout after 30 seconds",
    "error code 0x80070005",
    "a 429 error",
)
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# group -> (subject templates, problem statements); {f} feature, {e} error, {n} number, {m} month
TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Technical Support": (
        (
            "{f} not loading",
            "Problem with {f}",
            "{f} shows {e}",
            "Can't get {f} to work",
            "{f} broken?",
            "Issue after latest update ({f})",
            "{f} is very slow today",
            "Urgent: {f} down",
        ),
        (
            "When we open the {f} we only get {e}.",
            "Since this morning the {f} returns {e} for most of our team.",
            "The {f} has been extremely slow for the last {n} days, pages take forever to load.",
            "Several users report that {f} stopped working after the last release.",
            "We are seeing {e} every time someone tries to use the {f}.",
            "Our team cannot use the {f} at all right now.",
            "The {f} works for admins but regular users get {e}.",
        ),
    ),
    "Billing": (
        (
            "Invoice question",
            "Charged twice in {m}",
            "Wrong amount on invoice #{n}",
            "Billing contact change",
            "VAT number missing on invoice",
            "Refund request",
            "Credit card update",
            "Payment failed?",
        ),
        (
            "Our {m} invoice shows a higher amount than what we agreed.",
            "We were charged twice for {m}, please check invoice #{n}.",
            "Could you update the billing contact on our account? Finance needs the invoices.",
            "The invoice is missing our VAT number, our accounting team cannot process it.",
            "We removed {n} seats last month but still got billed for them.",
            "Our card was declined although nothing changed on our side.",
        ),
    ),
    "Integrations": (
        (
            "Salesforce sync stopped",
            "API rate limit errors",
            "Webhook deliveries failing",
            "Slack notifications missing",
            "Zapier connection lost",
            "Integration keeps disconnecting",
        ),
        (
            "The Salesforce sync stopped on {m} {n} and nothing has synced since.",
            "Our API calls keep hitting {e} even though we stay under the documented limits.",
            "Webhook deliveries to our endpoint fail with {e}.",
            "The Slack integration no longer posts notifications to our channels.",
            "The connection to our CRM drops every few hours and we have to reconnect it by hand.",
        ),
    ),
    "Onboarding": (
        (
            "Help setting up {f}",
            "Getting started questions",
            "Training session for new users",
            "How do we configure {f}?",
            "Import of our historical data",
        ),
        (
            "We are new to the platform and would like some help configuring the {f}.",
            "Could you walk us through setting up {f} for {n} new users?",
            "We need to import about {n}000 records from our old tool, what is the best way?",
            "Is there documentation on how to roll out {f} to the whole company?",
        ),
    ),
    "Account Management": (
        (
            "Question about our renewal",
            "Adding {n} seats",
            "Plan comparison",
            "Contract question",
            "Downgrade options",
            "Reducing our seat count",
            "Pricing for next year",
        ),
        (
            "Our renewal is coming up and we would like to review our plan.",
            "We would like to add {n} more seats for the new team.",
            "Can you send us a comparison of the growth and enterprise plans?",
            "We are reviewing our tooling budget and need to understand our options.",
            "Management asked us to reduce the number of seats, what is the process?",
        ),
    ),
    "Tier 2": (
        (
            "Escalation: {f} data missing",
            "Data inconsistency in {f}",
            "Records disappeared from {f}",
            "Security question about {f}",
            "Permissions bug in {f}",
        ),
        (
            "Records we created yesterday are missing from the {f}.",
            "The numbers in the {f} don't match what we see in our own database.",
            "A user without admin rights was able to change settings in {f}.",
            "We need details about how {f} stores personal data for our security review.",
        ),
    ),
}
GROUPS = tuple(TOPICS)

GREETINGS = (
    "Hi,",
    "Hello,",
    "Hi team,",
    "Hello support,",
    "Hi there,",
    "Good morning,",
    "Dear support team,",
    "Hey,",
    "Hi all,",
    "Good afternoon,",
    "Hello Northpeak team,",
    "Hi support,",
    "",
)
AGENT_GREETINGS = (
    "Hi {name},",
    "Hello {name},",
    "Dear {name},",
    "Hi {name}!",
    "Good morning {name},",
    "Hey {name},",
    "Hi {name}, thanks for reaching out.",
    "Hello {name}, thank you for your message.",
)

TONE_LINES: dict[str, tuple[str, ...]] = {
    "angry": (
        "This is completely unacceptable.",
        "This is the third time this month and frankly we are fed up.",
        "We pay a lot of money for this and it simply does not work.",
        "Honestly this is a joke.",
        "Nobody has answered my last two emails!!",
        "I am extremely frustrated with the lack of response.",
        "Our whole team is blocked and our management is asking why we chose your product.",
        "If this isn't fixed today we will have to look at other vendors.",
        "Your status page says everything is fine, which is clearly not true.",
        "I want to speak to someone senior about this, right now.",
        "We are seriously reconsidering our contract.",
        "This keeps happening and nobody seems to care.",
        "Every week there is a new problem.",
        "I've wasted my entire morning on this.",
        "How is this still not fixed??",
        "Really disappointed, we expected much better.",
    ),
    "negative": (
        "This is becoming a real problem for us.",
        "Unfortunately the workaround you suggested did not help.",
        "We are a bit disappointed with how long this is taking.",
        "This is slowing our team down quite a lot.",
        "I'm not happy with how this has been handled so far.",
        "Still no luck on our side, sadly.",
        "It's frustrating that this worked fine a few weeks ago.",
        "We expected this to be resolved by now.",
        "Our users are starting to complain.",
        "This is not great timing for us, we have a deadline.",
        "To be honest the experience has been pretty poor lately.",
    ),
    "neutral": (
        "Could you please advise?",
        "Let me know if you need any further information.",
        "Please let us know what the next steps are.",
        "I've attached a screenshot for reference.",
        "This is not urgent, but we would like to understand what happened.",
        "Happy to jump on a call if that is easier.",
        "We are on the {p} plan, in case that matters.",
        "I checked the help center but couldn't find an answer.",
        "Thanks in advance.",
        "Can you confirm whether this is expected behaviour?",
        "Our account admin is in copy.",
    ),
    "positive": (
        "Thanks so much, that worked perfectly!",
        "You guys are great, really appreciate the quick help.",
        "Brilliant, everything is running smoothly again.",
        "Thank you, the team is really happy with the product.",
        "Great support as always!",
        "Perfect, thanks a lot for the fast turnaround.",
        "Really impressed with how quickly you sorted this out.",
        "Love the new {f}, by the way.",
        "Many thanks, this makes our life much easier.",
        "Awesome, that's exactly what we needed.",
        "Thanks for the excellent explanation.",
        "Much appreciated, have a great week!",
    ),
}
CLOSINGS = (
    "Thanks,",
    "Thank you,",
    "Best,",
    "Regards,",
    "Kind regards,",
    "Best regards,",
    "Cheers,",
    "Many thanks,",
    "Thx,",
    "BR,",
    "Sincerely,",
    "",
)
MOBILE_FOOTERS = (
    "Sent from my iPhone",
    "Sent from my iPad",
    "Sent from Outlook for Android",
    "Get Outlook for iOS",
    "Sent from my Galaxy",
    "Sent from Mail for Windows",
)
AGENT_ACKS = (
    "Thanks for reaching out and sorry for the trouble.",
    "I'm sorry to hear about this.",
    "Thank you for the details, that helps a lot.",
    "Apologies for the inconvenience this has caused.",
    "Thanks for your patience while we looked into this.",
    "I understand how frustrating this must be.",
    "Thanks for the report.",
    "Good question!",
    "Thanks for getting back to me.",
)
AGENT_ACTIONS = (
    "I've reproduced the issue and passed it to our engineering team.",
    "Could you send us the exact time it happened and the affected user's e-mail?",
    "I've applied a fix on our side, could you please try again?",
    "This was caused by a configuration change on our side, which we have now rolled back.",
    "Could you clear the browser cache and try again in an incognito window?",
    "I've escalated this to our Tier 2 team, who will get back to you shortly.",
    "I've corrected the invoice and you should receive the updated copy today.",
    "Here is a link to the article that explains the setup step by step.",
    "I've scheduled a call with your account manager to go through the options.",
    "Our engineers deployed a patch this morning, everything should work now.",
    "I've added the seats to your account; they are available right away.",
    "We are still investigating and I'll update you as soon as I hear back.",
)
AGENT_CLOSINGS = (
    "Best regards,",
    "Kind regards,",
    "Cheers,",
    "Best,",
    "Thanks,",
    "All the best,",
    "Warm regards,",
)
INTERNAL_NOTES = (
    "Internal: checked the logs, errors started after the {m} deploy.",
    "Internal note: customer is on the {p} plan, renewal coming up - handle with care.",
    "Internal: linked to engineering bug ENG-{n}.",
    "Internal: AM informed about this account.",
    "Internal: same issue as last week, possibly a regression.",
    "Internal: refunded via billing console, waiting for confirmation.",
)
REOPEN_LINES = (
    "Hi again, unfortunately the problem is back.",
    "Sorry to reopen this, but it is happening again.",
    "This is still not working for us.",
    "Reopening - the fix didn't last.",
    "Hello, same issue again since yesterday.",
)
CSAT_COMMENTS: dict[str, tuple[str, ...]] = {
    "good": (
        "Quick and helpful",
        "Great support",
        "Solved fast, thanks",
        "Very friendly agent",
        "Perfect",
        "",
    ),
    "mid": ("OK", "Took a while but solved", "Fine", "", "Average experience"),
    "bad": (
        "Took way too long",
        "Problem not really solved",
        "Nobody listened",
        "Terrible response time",
        "Had to chase several times",
        "",
    ),
}
NPS_COMMENTS: dict[str, tuple[str, ...]] = {
    "promoter": (
        "Great product, our team loves it",
        "Easy to use and reliable",
        "Support is excellent",
        "Saves us hours every week",
        "",
        "Would recommend to any team our size",
    ),
    "passive": (
        "Does the job",
        "Good but a bit expensive",
        "Some features are missing",
        "",
        "Mostly fine",
        "The UI could be simpler",
    ),
    "detractor": (
        "Too many bugs lately",
        "Too expensive for what it does",
        "Support is slow",
        "We are evaluating alternatives",
        "Performance has gotten worse",
        "",
        "Missing basic features we need",
    ),
}
