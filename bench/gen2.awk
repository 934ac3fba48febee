# gen2.awk: a second generator of CSV v1 exports for scripts/bench,
# written apart from `usagereport generate` (fixtures/) so that the
# benchmark does not only measure the shape of our own data. Every row is
# valid CSV v1 (docs/input-csv-v1.md), but the file differs on purpose:
#
#   - another column order, and two long free-text columns that ingest
#     drops (b_name "Surname, Name" and a quoted note with commas and
#     doubled quotes);
#   - CRLF line ends;
#   - many more subscribers: one distinct subscriber per 4 rows (2.5
#     million at 10 million rows), in 5,000 organisations (-v orgs=N) of very uneven
#     size (a cube of a uniform draw: a few organisations hold most rows);
#   - long cost centre names, up to 64 bytes, most of them quoted because
#     they hold a comma or a quote, some with Norwegian letters, 5% empty;
#   - the service in mixed case (Voice, DATA, sms), every charge quoted with
#     four decimals, 3% credits (negative);
#   - times in UTC ("Z") as well as with +01:00/+02:00, including UTC
#     times whose Oslo month is the next one;
#   - 30% of rows roaming, across 20 countries.
#
# Usage: awk -v rows=N [-v seed=S] [-v orgs=N] -f bench/gen2.awk > FILE
# (mawk or gawk; the same seed and awk give the same file.)
BEGIN {
	if (rows == "") rows = 1000000
	if (seed == "") seed = 7
	srand(seed)
	if (orgs == "") orgs = 5000
	norgs = orgs
	# Valid organisation numbers: 8 digits and the mod-11 check digit
	# (weights 3 2 7 6 5 4 3 2; a remainder giving 10 has no valid number).
	split("3 2 7 6 5 4 3 2", w, " ")
	n = 0
	for (base = 81000000; n < norgs; base += 7) {
		s = 0
		for (d = 1; d <= 8; d++) s += w[d] * substr(base, d, 1)
		c = (11 - s % 11) % 11
		if (c == 10) continue
		org[n++] = base c
	}
	nsubs = int(rows / 4)
	if (nsubs < 1) nsubs = 1
	split("Prosjekt,Avdeling,Kostnadssted,Innkjøp,Drift og vedlikehold,Salg,Kundeservice,Utvikling,Økonomi,Ledergruppe", word, ",")
	split("Ålesund,Tromsø,Bodø,Bergen,Oslo sentrum,Stavanger,Trondheim,Kristiansand,Fredrikstad,Hønefoss", place, ",")
	split("AT BE DE DK ES FI FR GR IS IT NL PL PT SE GB US TH TR CH AE", cty, " ")
	split("Hansen,Johansen,Olsen,Larsen,Andersen,Pedersen,Nilsen,Kristiansen,Jensen,Karlsen", sur, ",")
	split("Kari,Ola,Ingrid,Lars,Nora,Jakob,Emma,Henrik,Sofie,Magnus", first, ",")
	print "subscriber,start_time,org_number,Service,charge,cost_centre,b_name,destination,duration_s,volume_bytes,country,user_name,note\r"
	for (i = 0; i < rows; i++) {
		# The subscriber, and from it (fixed per subscriber) its
		# organisation and cost centre.
		sb = int(rand() * nsubs)
		h = (sb * 2654435761) % 4294967296 / 4294967296
		o = int(norgs * h * h * h)
		k = (sb * 40503) % 65536
		if (k % 20 == 0) {
			cc = ""
		} else {
			# Up to 64 bytes; the organisation's size decides how many
			# cost centres it has: up to orgs + 2 for the largest.
			ccn = k % (int(norgs / (o + 1)) + 3)
			cc = word[1 + ccn % 10] " " ccn ", " place[1 + int(ccn / 10) % 10]
			if (ccn % 3 == 0) cc = cc " \"avd. " (ccn % 97) "\""
			if (ccn % 2 == 0) cc = cc " – fase " (ccn % 13) " (budsjett " 2020 + ccn % 7 ")"
			# At most 64 bytes (so at most 64 characters), never ending
			# in a cut UTF-8 sequence or a space.
			if (length(cc) > 64) {
				cc = substr(cc, 1, 64)
				while (cc ~ /[\200-\377 ]$/) cc = substr(cc, 1, length(cc) - 1)
			}
			if (cc ~ /[,"]/) {
				gsub(/"/, "\"\"", cc)
				cc = "\"" cc "\""
			}
		}
		if (sb % 2) num = sprintf("+479%07d", sb % 10000000)
		else num = sprintf("+474%07d", sb % 10000000)
		# The time: October or November 2026, a fifth in UTC.
		r = rand()
		if (r < 0.01) {
			ts = sprintf("2026-09-30T22:%02d:%02dZ", int(rand() * 60), int(rand() * 60))
		} else if (r < 0.02) {
			ts = sprintf("2026-10-31T23:%02d:%02dZ", int(rand() * 60), int(rand() * 60))
		} else {
			m = rand() < 0.5 ? 10 : 11
			day = 1 + int(rand() * (m == 10 ? 31 : 29))
			if (rand() < 0.2) {
				ts = sprintf("2026-%02d-%02dT%02d:%02d:%02dZ", m, day, 6 + int(rand() * 15), int(rand() * 60), int(rand() * 60))
			} else {
				off = (m == 10 && day < 25) ? "+02:00" : "+01:00"
				ts = sprintf("2026-%02d-%02dT%02d:%02d:%02d%s", m, day, int(rand() * 24), int(rand() * 60), int(rand() * 60), off)
			}
		}
		r = rand()
		dur = ""; vol = ""
		if (r < 0.4) {
			svc = (r < 0.2) ? "DATA" : "data"
			vol = int(rand() * rand() * 500000000)
		} else if (r < 0.8) {
			svc = (r < 0.6) ? "Voice" : "voice"
			dur = int(rand() * rand() * 3600)
		} else if (r < 0.98) {
			svc = "sms"
		} else {
			svc = "MMS"
		}
		charge = sprintf("%.4f", rand() * rand() * 400)
		if (rand() < 0.03) charge = "-" charge
		r = rand()
		country = ""
		if (r < 0.1) country = "NO"
		else if (r < 0.4) country = cty[1 + int(rand() * 20)]
		ns = 1 + int(rand() * 10)
		bname = "\"" sur[ns] ", " first[1 + (ns * 7 + i) % 10] "\""
		if (svc == "DATA" || svc == "data") dest = "\"apn, internet.telenor\""
		else dest = sprintf("+47%08d", 20000000 + int(rand() * 70000000))
		note = (i % 7 == 0) ? "\"Faktura, \"\"mobil\"\" " i " kr\"" : ""
		printf "%s,%s,%s,%s,\"%s\",%s,%s,%s,%s,%s,%s,%s %s,%s\r\n", num, ts, org[o], svc, charge, cc, bname, dest, dur, vol, country, first[ns], sur[1 + sb % 10], note
	}
}
