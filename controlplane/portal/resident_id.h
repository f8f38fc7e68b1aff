// Checks of what a patient types at sign-in and at the real-name step: a mainland mobile
// number and an 18-character resident identity card number (GB 11643-1999). Each error
// names the part that is wrong, so the portal can say it in the patient's words.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

namespace hisgate::controlplane::portal {

// 11 digits, the first "1". Errors: BadInput "auth.bad_phone".
Result<void> check_phone(std::string_view phone);

// "138****8000": what the API shows of a phone number (never the whole number).
std::string mask_phone(std::string_view phone);

// 17 digits and a check character (0-9 or X; lower-case x is accepted and read as X): the
// birth date (digits 7-14, YYYYMMDD) must be a real date from 1900 to today, and the
// check character the ISO 7064 MOD 11-2 one. `today` is "YYYYMMDD". Errors, all BadInput:
// "id.length", "id.characters", "id.region" (the first 6 digits start with 0),
// "id.birth_date", "id.checksum".
Result<void> check_resident_id(std::string_view id, std::string_view today);

// The check character GB 11643 gives the first 17 digits (which must be digits).
char resident_id_check_char(std::string_view first17);

// A name as typed at the real-name step: 1 to 50 characters of UTF-8 with no control
// characters. What it contains is stored and answered as text (JSON-escaped), never
// interpreted. Errors: BadInput "name.empty", "name.too_long", "name.characters".
Result<void> check_person_name(std::string_view name);

// An email address for notifications: 3 to 254 bytes, one '@' with text on both sides,
// no spaces or control characters (it goes into an SMTP envelope and a header).
// Errors: BadInput "email.invalid".
Result<void> check_email(std::string_view email);

}  // namespace hisgate::controlplane::portal
