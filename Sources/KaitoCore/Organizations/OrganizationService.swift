/// Creating organisations with their data key and first admin key (bootstrap and `kaito admin create-org`).
public struct OrganizationService: Sendable {
    let work: UnitOfWork
    let keyring: Keyring
    let keys: KeyService
    let clock: any KaitoClock
    let random: any RandomSource
    var storage: any Storage { work.storage }

    public init(work: UnitOfWork, keyring: Keyring, keys: KeyService, clock: any KaitoClock, random: any RandomSource) {
        self.work = work
        self.keyring = keyring
        self.keys = keys
        self.clock = clock
        self.random = random
    }

    /// Creates an organisation, its data key and an `org:admin` key, in one transaction.
    /// - Throws: `validation_failed` for a bad name, `conflict` when the name is taken.
    public func create(name: String, plan: Plan = .free, createdBy: String) async throws -> (Organization, APIKeySecret) {
        try Organization.validateName(name)
        let organization = Organization(
            id: Identifier.make(prefix: Organization.idPrefix, at: clock.now(), random: random),
            name: name, plan: plan, createdAt: clock.now()
        )
        let actor = AuditEvent.Actor(type: "system", id: createdBy, name: nil)
        return try await work.runAsSystem(actor, organizationID: { $0.0.id }, audit: { AuditRecord(.organizationCreate, target: .init(type: "org", id: $0.0.id)) }) { session in
            try await session.organizations.insert(organization)
            _ = try await keyring.createDataKey(organizationID: organization.id, session: session)
            let draft = KeyDraft(name: "\(name) admin", scopes: [.orgAdmin])
            let (_, secret) = try await keys.create(draft, organizationID: organization.id, createdBy: createdBy, session: session)
            return (organization, secret)
        }
    }

    /// On an empty database, creates the organisation `default` and returns its first admin key; otherwise nil.
    public func bootstrapIfEmpty() async throws -> APIKeySecret? {
        let count = try await storage.read { session in try await session.organizations.count() }
        guard count == 0 else { return nil }
        do {
            return try await create(name: "default", createdBy: "bootstrap").1
        } catch let error as KaitoError where error.code == .conflict {
            return nil  // another server bootstrapped it first
        }
    }

    /// Changes an organisation's plan as an operator (`kaito admin set-plan`): the same change as
    /// `PUT /v1/org/billing/subscription`, with its webhook and audit events.
    public func setPlan(_ nameOrID: String, plan: Plan) async throws -> Organization {
        let organization = try await find(nameOrID)
        let now = clock.now()
        let billing = Billing(random: random)
        return try await storage.write { session in
            try await billing.change(organizationID: organization.id, to: plan, actor: .init(type: "system", id: "operator", name: nil),
                                     ip: nil, origin: RequestOrigin(), at: now, in: session)
        }
    }

    /// Finds an organisation by name or id (what operators type).
    public func find(_ nameOrID: String) async throws -> Organization {
        let found: Organization? = try await storage.read { session in
            if let byName = try await session.organizations.find(name: nameOrID) { return byName }
            return try await session.organizations.find(id: nameOrID)
        }
        guard let found else { throw KaitoError.notFound("The organisation '\(nameOrID)'") }
        return found
    }
}

extension OrganizationService {
    /// Creates a key as an operator (`kaito admin create-key`), with its audit event.
    public func createKeyAsOperator(_ draft: KeyDraft, in organization: Organization) async throws -> (APIKey, APIKeySecret) {
        let id = keys.newID()
        let actor = AuditEvent.Actor(type: "system", id: "operator", name: nil)
        return try await work.runAsSystem(actor, organizationID: { _ in organization.id }, audit: { _ in .key(.keyCreate, id) }) { session in
            try await keys.create(draft, organizationID: organization.id, createdBy: "operator", id: id, session: session)
        }
    }
}
