"""The sandbox org's fixed schema: modules, fields and users, and their Zoho-shaped metadata.

Pure data, no I/O. Four modules (Leads, Contacts, Accounts, Deals) carry a realistic subset of
Zoho's standard fields plus custom fields of every writable data type; each module has one
External ID field, at least one unique field and read-only fields (system times, an auto-number,
and a formula in Deals). `field_metadata` renders one field the way
`GET /crm/v8/settings/fields` does.

Choices where Zoho's documentation is silent or disagrees:

- `unique` is `{}` for an ordinary field (as in Zoho's OAS example) and `{"case_sensitive": false}`
  for a unique one: test it for truthiness, not for `None`.
- `external` is `null` except on the module's External ID field (`{"show": true, "type": "user"}`).
- `bigint` values are returned as JSON strings (`json_type` "string") so that 18-digit values
  survive JavaScript clients; writes accept a number or a digit string.
- `Owner` is writable (`field_read_only` false); Zoho's own metadata flags it oddly, but its API
  does accept an Owner on insert and update.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ORG_PREFIX = "4150868000"


@dataclass(frozen=True)
class User:
    """A CRM user that ownerlookup fields can point at."""

    id: str
    name: str
    email: str

    def as_owner(self) -> dict[str, str]:
        return {"name": self.name, "id": self.id, "email": self.email}

    def as_actor(self) -> dict[str, str]:
        return {"name": self.name, "id": self.id}


USERS: tuple[User, ...] = (
    User("4150868000000225013", "Sandbox Admin", "admin@sandbox.zoho.local"),
    User("4150868000000225027", "Priya Raman", "priya.raman@sandbox.zoho.local"),
    User("4150868000000225041", "Marco Diaz", "marco.diaz@sandbox.zoho.local"),
)
API_USER = USERS[0]
USERS_BY_ID = {user.id: user for user in USERS}

# Length Zoho gives a field of each type when the field does not set its own.
DEFAULT_LENGTH = {
    "text": 255,
    "textarea": 32000,
    "email": 100,
    "phone": 30,
    "website": 255,
    "picklist": 120,
    "multiselectpicklist": 2000,
    "integer": 9,
    "bigint": 18,
    "double": 16,
    "currency": 16,
    "percent": 5,
    "boolean": 5,
    "date": 20,
    "datetime": 120,
    "lookup": 120,
    "ownerlookup": 120,
    "autonumber": 255,
    "formula": 16,
}

JSON_TYPE = {
    "text": "string",
    "textarea": "string",
    "email": "string",
    "phone": "string",
    "website": "string",
    "picklist": "string",
    "multiselectpicklist": "jsonarray",
    "integer": "integer",
    "bigint": "string",
    "double": "double",
    "currency": "double",
    "percent": "double",
    "boolean": "boolean",
    "date": "string",
    "datetime": "string",
    "lookup": "jsonobject",
    "ownerlookup": "jsonobject",
    "autonumber": "string",
    "formula": "double",
}

DECIMAL_PLACES = {"double": 2, "currency": 2, "percent": 2, "formula": 2}

TEXT_LIKE = frozenset({"text", "textarea", "email", "phone", "website", "autonumber"})


@dataclass(frozen=True)
class FieldSpec:
    """One field of a module, as much of it as the sandbox needs to validate and describe it."""

    api_name: str
    data_type: str
    label: str = ""
    length: int | None = None
    mandatory: bool = False
    unique: bool = False
    read_only: bool = False
    custom: bool = False
    external: bool = False
    picklist: tuple[str, ...] = ()
    lookup_module: str | None = None
    id: str = ""

    @property
    def max_length(self) -> int:
        return self.length if self.length is not None else DEFAULT_LENGTH[self.data_type]

    @property
    def field_label(self) -> str:
        return self.label or self.api_name.replace("_", " ")


@dataclass(frozen=True)
class ModuleSpec:
    """A CRM module: its API name, id, the field that names a record, and its fields."""

    api_name: str
    id: str
    name_field: str
    fields: tuple[FieldSpec, ...]
    autonumber_prefix: str
    by_name: dict[str, FieldSpec] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_name.update({spec.api_name: spec for spec in self.fields})

    def get_field(self, api_name: str) -> FieldSpec | None:
        return self.by_name.get(api_name)

    @property
    def external_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(spec for spec in self.fields if spec.external)

    @property
    def unique_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(spec for spec in self.fields if spec.unique)


def _f(api_name: str, data_type: str, **kwargs: object) -> FieldSpec:
    return FieldSpec(api_name, data_type, **kwargs)  # type: ignore[arg-type]


def _c(api_name: str, data_type: str, **kwargs: object) -> FieldSpec:
    return FieldSpec(api_name, data_type, custom=True, **kwargs)  # type: ignore[arg-type]


LEAD_SOURCES = (
    "Advertisement",
    "Cold Call",
    "Employee Referral",
    "External Referral",
    "Online Store",
    "Partner",
    "Public Relations",
    "Seminar Partner",
    "Trade Show",
    "Web Download",
    "Web Research",
    "Chat",
    "Stripe",
    "Shopify",
    "Typeform",
    "Calendly",
    "Webhook",
)
INDUSTRIES = (
    "ASP (Application Service Provider)",
    "Data/Telecom OEM",
    "ERP (Enterprise Resource Planning)",
    "Government/Military",
    "Large Enterprise",
    "Management ISV",
    "MSP (Management Service Provider)",
    "Network Equipment Enterprise",
    "Non-management ISV",
    "Optical Networking",
    "Service Provider",
    "Small/Medium Enterprise",
    "Storage Equipment",
    "Storage Service Provider",
    "Systems Integrator",
    "Wireless Industry",
)
LEAD_STATUSES = (
    "Attempted to Contact",
    "Contact in Future",
    "Contacted",
    "Junk Lead",
    "Lost Lead",
    "Not Contacted",
    "Pre-Qualified",
    "Not Qualified",
)
DEAL_STAGES = (
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Identify Decision Makers",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
    "Closed Lost to Competition",
)
RATINGS = ("Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down")


def _system_fields(owner_label: str) -> list[FieldSpec]:
    return [
        _f("Owner", "ownerlookup", label=owner_label),
        _f("Created_By", "ownerlookup", label="Created By", read_only=True),
        _f("Modified_By", "ownerlookup", label="Modified By", read_only=True),
        _f("Created_Time", "datetime", label="Created Time", read_only=True),
        _f("Modified_Time", "datetime", label="Modified Time", read_only=True),
    ]


LEADS_FIELDS = [
    *_system_fields("Lead Owner"),
    _f("Company", "text", length=200, mandatory=True),
    _f("First_Name", "text", length=40),
    _f("Last_Name", "text", length=80, mandatory=True),
    _f("Full_Name", "text", length=120, read_only=True),
    _f("Designation", "text", length=100, label="Title"),
    _f("Email", "email"),
    _f("Phone", "phone"),
    _f("Mobile", "phone"),
    _f("Website", "website"),
    _f("Lead_Source", "picklist", picklist=LEAD_SOURCES),
    _f("Lead_Status", "picklist", picklist=LEAD_STATUSES),
    _f("Industry", "picklist", picklist=INDUSTRIES),
    _f("Rating", "picklist", picklist=RATINGS),
    _f("Annual_Revenue", "currency"),
    _f("No_of_Employees", "integer", label="No. of Employees"),
    _f("Email_Opt_Out", "boolean"),
    _f("Street", "text", length=250),
    _f("City", "text", length=100),
    _f("State", "text", length=100),
    _f("Zip_Code", "text", length=30),
    _f("Country", "text", length=100),
    _f("Description", "textarea"),
    _c("External_Lead_Id", "text", length=100, external=True, unique=True),
    _c("Lead_Number", "autonumber", read_only=True),
    _c("Campaign_Code", "text", length=20),
    _c("Lead_Notes", "textarea", length=2000),
    _c("Secondary_Email", "email"),
    _c("Alt_Phone", "phone"),
    _c("Landing_Page", "website"),
    _c(
        "Utm_Source", "picklist", picklist=("google", "facebook", "linkedin", "newsletter", "other")
    ),
    _c(
        "Products_Interested",
        "multiselectpicklist",
        picklist=("CRM", "Desk", "Books", "Campaigns", "Analytics"),
    ),
    _c("Visits", "integer"),
    _c("Page_Views", "bigint"),
    _c("Engagement_Score", "double"),
    _c("Budget", "currency"),
    _c("Conversion_Probability", "percent"),
    _c("Is_Qualified", "boolean"),
    _c("First_Visit_Date", "date"),
    _c("Last_Activity_At", "datetime"),
    _c("Referred_By", "lookup", lookup_module="Contacts"),
    _c("Assigned_Rep", "ownerlookup"),
]

CONTACTS_FIELDS = [
    *_system_fields("Contact Owner"),
    _f("First_Name", "text", length=40),
    _f("Last_Name", "text", length=80, mandatory=True),
    _f("Full_Name", "text", length=120, read_only=True),
    _f("Email", "email", unique=True),
    _f("Secondary_Email", "email"),
    _f("Phone", "phone"),
    _f("Mobile", "phone"),
    _f("Title", "text", length=100),
    _f("Department", "text", length=30),
    _f("Account_Name", "lookup", lookup_module="Accounts"),
    _f("Lead_Source", "picklist", picklist=LEAD_SOURCES),
    _f("Mailing_Street", "text", length=250),
    _f("Mailing_City", "text", length=100),
    _f("Mailing_State", "text", length=100),
    _f("Mailing_Zip", "text", length=30),
    _f("Mailing_Country", "text", length=100),
    _f("Date_of_Birth", "date"),
    _f("Email_Opt_Out", "boolean"),
    _f("Description", "textarea"),
    _c("Stripe_Customer_Id", "text", external=True, unique=True),
    _c("Contact_Number", "autonumber", read_only=True),
    _c("Full_Address", "text"),
    _c("Customer_Tier", "picklist", picklist=("Gold", "Silver", "Standard")),
    _c(
        "Interests",
        "multiselectpicklist",
        picklist=(
            "Analytics",
            "Automation",
            "Billing",
            "Integrations",
            "Mobile",
            "Reporting",
            "Security",
            "Support",
        ),
    ),
    _c("Balance", "currency"),
    _c("Delinquent", "boolean"),
    _c("Last_Payment_At", "datetime"),
    _c("Signup_Date", "date"),
    _c("Seats", "integer"),
    _c("Lifetime_Events", "bigint"),
    _c("Score", "double"),
    _c("Discount", "percent"),
    _c("Notes_Field", "textarea", length=2000),
    _c("Homepage", "website"),
    _c("Alt_Phone", "phone"),
    _c("Alt_Email", "email"),
    _c("Secondary_Owner", "ownerlookup"),
    _c("Referred_By", "lookup", lookup_module="Contacts"),
]

ACCOUNTS_FIELDS = [
    *_system_fields("Account Owner"),
    _f("Account_Name", "text", length=200, mandatory=True, unique=True),
    _f("Account_Number", "text", length=40),
    _f("Website", "website"),
    _f("Phone", "phone"),
    _f("Fax", "phone"),
    _f("Annual_Revenue", "currency"),
    _f("Employees", "integer"),
    _f("Industry", "picklist", picklist=INDUSTRIES),
    _f(
        "Account_Type",
        "picklist",
        picklist=(
            "Analyst",
            "Competitor",
            "Customer",
            "Distributor",
            "Integrator",
            "Investor",
            "Partner",
            "Press",
            "Prospect",
            "Reseller",
            "Supplier",
            "Vendor",
            "Other",
        ),
    ),
    _f("Rating", "picklist", picklist=RATINGS),
    _f("Parent_Account", "lookup", lookup_module="Accounts"),
    _f("Billing_Street", "text", length=250),
    _f("Billing_City", "text", length=100),
    _f("Billing_State", "text", length=100),
    _f("Billing_Code", "text", length=30),
    _f("Billing_Country", "text", length=100),
    _f("Description", "textarea"),
    _c("External_Account_Id", "text", length=100, external=True, unique=True),
    _c("Account_Ref", "autonumber", read_only=True),
    _c("Shop_Domain", "text", length=255),
    _c("Account_Notes", "textarea", length=2000),
    _c("Billing_Email", "email"),
    _c("Support_Phone", "phone"),
    _c("Status_Page", "website"),
    _c("Plan", "picklist", picklist=("Free", "Starter", "Growth", "Enterprise")),
    _c("Regions", "multiselectpicklist", picklist=("NA", "EMEA", "APAC", "LATAM")),
    _c("Locations", "integer"),
    _c("Monthly_Api_Calls", "bigint"),
    _c("Health_Score", "double"),
    _c("MRR", "currency", label="MRR"),
    _c("Churn_Risk", "percent"),
    _c("Is_Active_Customer", "boolean"),
    _c("Renewal_Date", "date"),
    _c("Last_Order_At", "datetime"),
    _c("Primary_Contact", "lookup", lookup_module="Contacts"),
    _c("Account_Manager", "ownerlookup"),
]

DEALS_FIELDS = [
    *_system_fields("Deal Owner"),
    _f("Deal_Name", "text", length=120, mandatory=True),
    _f("Stage", "picklist", picklist=DEAL_STAGES, mandatory=True),
    _f("Amount", "currency"),
    _f("Closing_Date", "date"),
    _f("Account_Name", "lookup", lookup_module="Accounts"),
    _f("Contact_Name", "lookup", lookup_module="Contacts"),
    _f("Probability", "percent", label="Probability (%)"),
    _f("Expected_Revenue", "formula", read_only=True),
    _f("Type", "picklist", picklist=("New Business", "Existing Business")),
    _f("Lead_Source", "picklist", picklist=LEAD_SOURCES),
    _f("Next_Step", "text", length=100),
    _f("Description", "textarea"),
    _c("External_Deal_Id", "text", length=100, external=True, unique=True),
    _c("Deal_Number", "autonumber", read_only=True),
    _c("Order_Number", "text", length=50, unique=True),
    _c("Deal_Notes", "textarea", length=2000),
    _c("Billing_Contact_Email", "email"),
    _c("Billing_Phone", "phone"),
    _c("Order_Url", "website"),
    _c("Payment_Status", "picklist", picklist=("Pending", "Paid", "Refunded", "Failed")),
    _c(
        "Product_Lines",
        "multiselectpicklist",
        picklist=("Hardware", "Software", "Services", "Training"),
    ),
    _c("Quantity", "integer"),
    _c("Gateway_Txn_Number", "bigint"),
    _c("Exchange_Rate", "double"),
    _c("Discount_Amount", "currency"),
    _c("Commission_Rate", "percent"),
    _c("Is_Renewal", "boolean"),
    _c("Signed_Date", "date"),
    _c("Paid_At", "datetime"),
    _c("Partner_Account", "lookup", lookup_module="Accounts"),
    _c("Deal_Reviewer", "ownerlookup"),
]


def _with_ids(module_number: int, specs: list[FieldSpec]) -> tuple[FieldSpec, ...]:
    base = module_number * 1000
    return tuple(
        FieldSpec(**{**spec.__dict__, "id": f"{ORG_PREFIX}{base + index:09d}"})
        for index, spec in enumerate(specs, start=1)
    )


MODULES: dict[str, ModuleSpec] = {
    spec.api_name: spec
    for spec in (
        ModuleSpec(
            "Leads", f"{ORG_PREFIX}000002175", "Full_Name", _with_ids(1, LEADS_FIELDS), "L-"
        ),
        ModuleSpec(
            "Contacts", f"{ORG_PREFIX}000002179", "Full_Name", _with_ids(2, CONTACTS_FIELDS), "C-"
        ),
        ModuleSpec(
            "Accounts",
            f"{ORG_PREFIX}000002177",
            "Account_Name",
            _with_ids(3, ACCOUNTS_FIELDS),
            "A-",
        ),
        ModuleSpec(
            "Deals", f"{ORG_PREFIX}000002181", "Deal_Name", _with_ids(4, DEALS_FIELDS), "D-"
        ),
    )
}
_MODULES_BY_LOWER = {name.lower(): spec for name, spec in MODULES.items()}


def find_module(name: str) -> ModuleSpec | None:
    """The module with this API name; like Zoho, the URL's module name is not case-sensitive."""
    return _MODULES_BY_LOWER.get(name.lower())


def _picklist_values(spec: FieldSpec) -> list[dict[str, object]]:
    return [
        {
            "display_value": value,
            "actual_value": value,
            "reference_value": value,
            "type": "used",
            "id": f"{ORG_PREFIX}{int(spec.id[len(ORG_PREFIX) :]) * 100 + index:09d}",
            "sequence_number": index,
            "colour_code": None,
        }
        for index, value in enumerate(spec.picklist, start=1)
    ]


def field_metadata(spec: FieldSpec) -> dict[str, object]:
    """One entry of `GET /crm/v8/settings/fields`, with the keys clients validate against."""
    writable = not spec.read_only
    lookup: dict[str, object] = {}
    if spec.lookup_module:
        target = MODULES[spec.lookup_module]
        lookup = {
            "display_label": spec.field_label,
            "api_name": spec.api_name,
            "module": {"api_name": target.api_name, "id": target.id},
            "id": spec.id,
        }
    return {
        "id": spec.id,
        "api_name": spec.api_name,
        "field_label": spec.field_label,
        "display_label": spec.field_label,
        "data_type": spec.data_type,
        "json_type": JSON_TYPE[spec.data_type],
        "length": spec.max_length,
        "decimal_place": DECIMAL_PLACES.get(spec.data_type),
        "read_only": False,
        "field_read_only": spec.read_only,
        "operation_type": {
            "api_create": writable,
            "api_update": writable,
            "web_create": writable,
            "web_update": writable,
        },
        "system_mandatory": spec.mandatory,
        "unique": {"case_sensitive": False} if spec.unique else {},
        "pick_list_values": _picklist_values(spec),
        "lookup": lookup,
        "external": {"show": True, "type": "user", "allow_multiple_config": False}
        if spec.external
        else None,
        "custom_field": spec.custom,
        "visible": True,
        "type": "used",
        "virtual_field": False,
        "crypt": None,
        "currency": {"precision": 2, "rounding_option": "normal"}
        if spec.data_type == "currency"
        else {},
        "formula": {"return_type": "currency", "expression": "Amount * Probability / 100"}
        if spec.data_type == "formula"
        else {},
        "auto_number": {"prefix": "", "suffix": "", "start_number": 1}
        if spec.data_type == "autonumber"
        else {},
        "textarea": {"type": "large" if spec.max_length > 2000 else "small"}
        if spec.data_type == "textarea"
        else None,
        "multiselectlookup": {},
        "created_source": "crm" if spec.custom else "default",
    }
