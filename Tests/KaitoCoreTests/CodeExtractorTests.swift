import Testing
@testable import KaitoCore

@Suite("One-time codes found in SMS bodies")
struct CodeExtractorTests {
    /// Real-world message shapes, with the code a person would type (nil: none, or ambiguous).
    static let messages: [(String, String?)] = [
        ("Your code is 482913", "482913"),
        ("G-482913 is your Google verification code.", "482913"),
        ("Your Amazon Web Services verification code is: 845932", "845932"),
        ("Use 1234567 as Microsoft account security code", "1234567"),
        ("Microsoft account: Security code: 8832", "8832"),
        ("Your WhatsApp code: 123-456\nYou can also tap on this link to verify your phone: v.whatsapp.com/123456\nDon't share this code with others", "123456"),
        ("Chase: Your one-time code is 55123890. Don't share it. We'll never call to ask for it. Call 1-800-935-9935 if you didn't request it.", "55123890"),
        ("HDFC Bank: OTP for txn of Rs 2,500.00 at AMAZON on card ending 1234 is 839201. Valid for 5 mins. Do not share.", "839201"),
        ("Your one-time code is 55123890 for a purchase of $45.00 at Store 1234 on 03/15/2024", "55123890"),
        ("Your Apple ID Code is: 482913. Don't share it with anyone.\n\n@apple.com #482913 %apple.com", "482913"),
        ("123456 is your Instagram code. Don't share it.", "123456"),
        ("Your verification code is 1234. It expires in 10 minutes.", "1234"),
        ("Your code 4821 expires on 2024-12-31 at 23:59", "4821"),
        ("Your verification code is 553311. Questions? Call +1 (800) 555-0199", "553311"),
        ("Your PIN is AB12CD", "AB12CD"),
        ("Your OTP is 7Y3K9Q. Valid for 5 mins", "7Y3K9Q"),
        ("Tu código de verificación es 123456", "123456"),
        ("Votre code de vérification est 654321", "654321"),
        ("Ihr Bestätigungscode lautet 246810", "246810"),
        ("Il tuo codice di verifica è 135790", "135790"),
        ("Seu código de verificação é 9081", "9081"),
        ("您的验证码是902114，5分钟内有效。", "902114"),
        ("Ваш код подтверждения: 445566", "445566"),
        ("認証コード: 778899", "778899"),
        ("Your code is 2024", "2024"),
        // Nothing to take.
        ("Chase: A charge of $1,234.56 was made on card ending in 4321 on 03/15/2024. Reply STOP to end.", nil),
        ("Your package will arrive on Tuesday. Track: 1Z999AA10123456784", nil),
        ("Meet at 10:30, call me at +1 555 123 4567", nil),
        ("Payment of EUR 250.00 received on 2024-05-01. Ref 88213", nil),
        ("Your verification is complete. Welcome aboard!", nil),
        ("Happy new year 2025! Use code NEWYEAR at checkout", nil),
        // Ambiguous.
        ("Your backup codes are 123456 and 654321", nil),
        ("Code 1111 or 2222, whichever you prefer", nil),
    ]

    @Test("Real-world messages", arguments: messages)
    func extracts(body: String, code: String?) {
        #expect(CodeExtractor.extract(from: body) == code, "\(body)")
    }
}
